import { CfnElement, Names, Stack } from 'aws-cdk-lib';
import { Construct, RootConstruct } from 'constructs';

/**
 * A construct that only groups the stack's resources by concern (storage, tables, functions, ...).
 * A layer's id is left out of the logical ids of what it holds (see `logicalIdWithoutLayers`), so
 * grouping renames nothing in CloudFormation: for the retained key, buckets and tables a new
 * logical id would mean new, empty resources and orphaned old ones. Two layers must therefore not
 * hold children with the same id (CloudFormation would see one resource; CDK fails the synth).
 */
export class Layer extends Construct {}

/** The logical id CDK gives `element`, computed as if no layer were on its path. */
export function logicalIdWithoutLayers(stack: Stack, element: CfnElement): string {
  const scopes = element.node.scopes;
  const ids = scopes
    .slice(scopes.indexOf(stack) + 1)
    .filter((scope) => !(scope instanceof Layer))
    .map((scope) => scope.node.id);
  // CDK's own algorithm (readable path + hash of the path), applied to a scratch tree of that path.
  let scratch: Construct = new RootConstruct();
  for (const id of ids) {
    scratch = new Construct(scratch, id);
  }
  return Names.nodeUniqueId(scratch.node);
}
