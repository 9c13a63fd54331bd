import * as fs from 'node:fs';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Layer } from './layer';
import { substitutionsUsed } from './pipeline';

export interface BatchProps {
  readonly key: kms.IKey;
  /** crates/gensec-lambda/state-machine/batch.asl.json. */
  readonly definitionPath: string;
  /** The functions that may be invoked, by substitution name (those the definition uses are). */
  readonly functions: Record<string, lambda.IFunction>;
  /** The single-service pipeline each map item runs as a child execution. */
  readonly pipeline: sfn.IStateMachine;
  /** Where the resolve step writes the map's items (`_runs/<request_id>/attempt-N/items.json`). */
  readonly outputBucket: s3.IBucket;
  /** Child executions of the Distributed Map running at once. */
  readonly maxConcurrency: number;
}

/** The prefix of the batch's own state in the output bucket, which its ItemReader reads. */
export const RUN_STATE_PREFIX = '_runs/';

/**
 * A request naming several services: the trigger starts this state machine, whose Distributed Map
 * runs the pipeline once per service as a child execution (startExecution.sync:2), then writes a
 * summary. The definition is the ASL file with the Map's MaxConcurrency set from configuration.
 */
export class Batch extends Layer {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BatchProps) {
    super(scope, id);
    if (!fs.existsSync(props.definitionPath)) {
      throw new Error(`batch state machine definition not found: ${props.definitionPath}`);
    }
    const definition = JSON.parse(fs.readFileSync(props.definitionPath, 'utf8'));
    const maps = distributedMaps(definition.States ?? {});
    if (maps.length !== 1) {
      throw new Error(`${props.definitionPath}: expected one Distributed Map state, found ${maps.length}`);
    }
    maps[0].MaxConcurrency = props.maxConcurrency;
    const text = JSON.stringify(definition, null, 2);
    const used = substitutionsUsed(text);
    const functions = Object.entries(props.functions).filter(([name]) => used.has(name));
    const stack = Stack.of(this);
    // A fixed name, so the role may name the machine's own ARN (a Distributed Map starts its child
    // workflow executions on the machine itself) without a reference cycle.
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const logGroup = new logs.LogGroup(this, 'BatchStateMachineLogGroup', {
      logGroupName: `/aws/vendedlogs/states/${stack.stackName}-batch`,
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'BatchStateMachine', {
      stateMachineName,
      comment: 'gensec batch: resolve the services, one pipeline child execution per service (Distributed Map), summary',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(text),
      definitionSubstitutions: {
        ...Object.fromEntries(functions.map(([name, fn]) => [name, fn.functionArn])),
        PipelineStateMachineArn: props.pipeline.stateMachineArn,
        OutputBucketName: props.outputBucket.bucketName,
      },
      tracingEnabled: true,
      timeout: Duration.hours(24),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const role = this.stateMachine;
    const executionsOf = (name: string) =>
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const pipelineName = stack.splitArn(props.pipeline.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
    const ownArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const allow = (actions: string[], resources: string[]) =>
      role.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    // The Lambda tasks: exactly the functions the definition names, unqualified.
    allow(['lambda:InvokeFunction'], functions.map(([, fn]) => fn.functionArn));
    // Each map item starts a pipeline execution and waits for it (.sync:2): start, poll, stop on abort,
    // and the managed EventBridge rule Step Functions uses to learn that the child finished.
    allow(['states:StartExecution'], [props.pipeline.stateMachineArn]);
    allow(['states:DescribeExecution', 'states:StopExecution'], [executionsOf(pipelineName)]);
    allow(
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' })],
    );
    // The Distributed Map runs its items as child workflow executions of this state machine.
    allow(['states:StartExecution'], [ownArn]);
    allow(['states:DescribeExecution', 'states:StopExecution'], [executionsOf(stateMachineName)]);
    // Its ItemReader: the items the resolve step wrote (SSE-KMS with the stack key).
    allow(['s3:GetObject'], [props.outputBucket.arnForObjects(`${RUN_STATE_PREFIX}*`)]);
    allow(['kms:Decrypt'], [props.key.keyArn]);
  }
}

/** The Map states in Distributed mode, at any depth. */
function distributedMaps(states: Record<string, any>): any[] {
  const found: any[] = [];
  for (const state of Object.values(states)) {
    if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') found.push(state);
    if (state.ItemProcessor) found.push(...distributedMaps(state.ItemProcessor.States ?? {}));
  }
  return found;
}
