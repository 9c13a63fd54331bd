import { Aspects, Aws, CfnParameter, IAspect, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

/** Longest role session gensec's IAM rules allow (cfg_iam_role_max_session_duration), in seconds. */
const MAX_SESSION_SECONDS = 3600;

/**
 * Settings gensec's own proactive rules ask of every resource of a type, including those CDK
 * creates itself (the bucket-notification custom resource's role, the EventBridge targets'
 * invoke permissions): one-hour role sessions, and invoke permissions for AWS services limited
 * to this account's sources. `crates/gensec-stages/tests/own_stack.rs` checks the template.
 */
class OwnControls implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && node.maxSessionDuration === undefined) {
      node.maxSessionDuration = MAX_SESSION_SECONDS;
    }
    if (node instanceof lambda.CfnPermission && node.sourceAccount === undefined && node.principal.endsWith('.amazonaws.com')) {
      node.sourceAccount = Aws.ACCOUNT_ID;
    }
  }
}

/**
 * The tags of the example security profile's tagging control (owner, data-classification,
 * workload) on every taggable resource, from parameters, and the aspect above.
 */
export function applyOwnControls(stack: Stack): void {
  const owner = new CfnParameter(stack, 'TagOwner', {
    type: 'String',
    default: 'security-team',
    minLength: 1,
    description: 'Value of the owner tag on every taggable resource',
  });
  const classification = new CfnParameter(stack, 'TagDataClassification', {
    type: 'String',
    default: 'internal',
    allowedValues: ['public', 'internal', 'confidential', 'restricted'],
    description: 'Value of the data-classification tag on every taggable resource',
  });
  const workload = new CfnParameter(stack, 'TagWorkload', {
    type: 'String',
    default: 'gensec',
    minLength: 1,
    description: 'Value of the workload tag on every taggable resource',
  });
  Tags.of(stack).add('owner', owner.valueAsString);
  Tags.of(stack).add('data-classification', classification.valueAsString);
  Tags.of(stack).add('workload', workload.valueAsString);
  Aspects.of(stack).add(new OwnControls());
}
