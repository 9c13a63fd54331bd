import * as fs from 'node:fs';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Layer } from './layer';

export interface PipelineProps {
  readonly key: kms.IKey;
  /** The Amazon States Language file, with a `${...}` substitution for each function it invokes. */
  readonly definitionPath: string;
  /** The functions the definition invokes, by substitution name. */
  readonly functions: Record<string, lambda.IFunction>;
  /** Uploads of service-request/*.json here invoke the trigger. */
  readonly inputBucket: s3.Bucket;
  readonly trigger: lambda.IFunction;
}

/**
 * A run: a service-request/*.json upload invokes the trigger, which starts the state machine; the
 * state machine runs the stage functions in order, then finalize, and record-failure on any error.
 */
export class Pipeline extends Layer {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'StateMachineLogGroup', {
      // Vended logs need the /aws/vendedlogs/ prefix to avoid the log resource policy size limit.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-pipeline`,
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      // A fixed name would collide with a retained copy when the stack is re-created.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    if (!fs.existsSync(props.definitionPath)) {
      throw new Error(`state machine definition not found: ${props.definitionPath}`);
    }
    // Only the functions the definition names (the batch function is the batch state machine's).
    const used = substitutionsUsed(fs.readFileSync(props.definitionPath, 'utf8'));
    const functions = Object.entries(props.functions).filter(([name]) => used.has(name));
    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      comment: 'gensec pipeline: six stages, finalize; any failure -> record-failure',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(props.definitionPath),
      definitionSubstitutions: Object.fromEntries(functions.map(([name, fn]) => [name, fn.functionArn])),
      tracingEnabled: true,
      timeout: Duration.hours(1),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // A file definition is opaque to CDK, so the invoke permission is granted by hand: exactly these
    // functions, unqualified ARNs (the definition invokes $LATEST through arn:aws:states:::lambda:invoke).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: functions.map(([, fn]) => fn.functionArn),
      }),
    );
    props.inputBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(props.trigger), {
      prefix: 'service-request/',
      suffix: '.json',
    });
  }
}

/** The `${...}` substitutions an ASL text uses. */
export function substitutionsUsed(asl: string): Set<string> {
  return new Set([...asl.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
}
