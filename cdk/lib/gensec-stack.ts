import { CfnElement, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { GensecConfig, configFromContext } from './config';
import { Alarms } from './constructs/alarms';
import { Alerting } from './constructs/alerting';
import { Batch } from './constructs/batch';
import { Functions } from './constructs/functions';
import { logicalIdWithoutLayers } from './constructs/layer';
import { Pipeline } from './constructs/pipeline';
import { Remediation } from './constructs/remediation';
import { Storage } from './constructs/storage';
import { Tables } from './constructs/tables';
import { FunctionDefs, loadFunctionDefs } from './definitions/functions';
import { loadTableDefs } from './definitions/tables';
import { addNagSuppressions } from './nag-suppressions';
import { applyOwnControls } from './own-controls';

/** Configuration comes from context (see config.ts): `-c bedrockModelId=...`, cdk.json, ... */
export type GensecStackProps = StackProps;

/**
 * gensec on AWS: S3 upload of a service request -> trigger Lambda -> Step Functions running one
 * Rust Lambda per pipeline stage -> S3 output bucket + DynamoDB library/requests tables; and
 * Security Hub finding -> EventBridge -> remediation Lambda -> SNS e-mail.
 *
 * The functions, their environments and their roles come from crates/gensec-lambda/functions.json,
 * the tables' keys from crates/gensec-aws/tables.json. Resources are grouped by concern into layers
 * (constructs/*), which leave logical ids as they were before the grouping.
 */
export class GensecStack extends Stack {
  public readonly config: GensecConfig;
  public readonly functionDefs: FunctionDefs;
  public readonly key: kms.Key;
  public readonly accessLogBucket: s3.Bucket;
  public readonly inputBucket: s3.Bucket;
  public readonly outputBucket: s3.Bucket;
  public readonly libraryTable: dynamodb.Table;
  public readonly requestsTable: dynamodb.Table;
  public readonly findingsTable: dynamodb.Table;
  /** By id in functions.json. */
  public readonly functions: Record<string, lambda.Function>;
  public readonly roles: Record<string, iam.Role>;
  public readonly stateMachine: sfn.StateMachine;
  /** Requests naming several services: a Distributed Map over the pipeline. */
  public readonly batchStateMachine: sfn.StateMachine;
  public readonly alertTopic: sns.Topic;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: GensecStackProps = {}) {
    super(scope, id, {
      description: 'gensec: security packages for AWS services (Step Functions pipeline) and Security Hub finding remediation',
      ...props,
    });
    const config = configFromContext(this);
    this.config = config;
    const tableDefs = loadTableDefs(config.tablesPath);
    this.functionDefs = loadFunctionDefs(config.functionsPath, config.functionsSchemaPath);

    const storage = new Storage(this, 'Storage');
    const tables = new Tables(this, 'Tables', { key: storage.key, defs: tableDefs });
    const alerting = new Alerting(this, 'Alerting', { key: storage.key, alertEmail: config.alertEmail });
    const functions = new Functions(this, 'Functions', {
      defs: this.functionDefs,
      code: config.lambdaCode,
      key: storage.key,
      deadLetterQueue: alerting.deadLetterQueue,
    });
    const pipeline = new Pipeline(this, 'Pipeline', {
      key: storage.key,
      definitionPath: config.definitionPath,
      functions: functions.byAslSubstitution(),
      inputBucket: storage.inputBucket,
      trigger: functions.withHandler('trigger'),
    });
    const batch = new Batch(this, 'BatchRuns', {
      key: storage.key,
      definitionPath: config.batchDefinitionPath,
      functions: functions.byAslSubstitution(),
      pipeline: pipeline.stateMachine,
      outputBucket: storage.outputBucket,
      maxConcurrency: config.batchMaxConcurrency,
    });
    functions.connect({
      buckets: storage.buckets,
      tables,
      stateMachine: pipeline.stateMachine,
      batchStateMachine: batch.stateMachine,
      topic: alerting.topic,
      config,
    });
    const remediate = functions.withHandler('remediation');
    new Remediation(this, 'Remediation', { remediate, deadLetterQueue: alerting.deadLetterQueue });
    new Alarms(this, 'Alarms', {
      topic: alerting.topic,
      remediate,
      deadLetterQueue: alerting.deadLetterQueue,
      stateMachine: pipeline.stateMachine,
    });

    this.key = storage.key;
    this.accessLogBucket = storage.accessLogBucket;
    this.inputBucket = storage.inputBucket;
    this.outputBucket = storage.outputBucket;
    this.libraryTable = tables.byName.library;
    this.requestsTable = tables.byName.requests;
    this.findingsTable = tables.byName.findings;
    this.functions = functions.functions;
    this.roles = functions.roles;
    this.stateMachine = pipeline.stateMachine;
    this.batchStateMachine = batch.stateMachine;
    this.alertTopic = alerting.topic;
    this.deadLetterQueue = alerting.deadLetterQueue;

    this.addOutputs();
    applyOwnControls(this);
    addNagSuppressions({
      stack: this,
      functionRoles: Object.values(this.roles),
      stateMachine: this.stateMachine,
      batchStateMachine: this.batchStateMachine,
      bedrockModelId: config.bedrockModelId,
    });
  }

  /** Layers are left out of logical ids (see constructs/layer.ts). */
  protected allocateLogicalId(element: CfnElement): string {
    return logicalIdWithoutLayers(this, element);
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('InputBucketName', this.inputBucket.bucketName, 'Upload security-profile/*.json and service-request/*.json here');
    output('OutputBucketName', this.outputBucket.bucketName, 'Run outputs: <service_id>/<request_id>/...');
    output('AccessLogBucketName', this.accessLogBucket.bucketName, 'S3 server access logs of the two buckets');
    output('LibraryTableName', this.libraryTable.tableName, 'Security Control Library');
    output('RequestsTableName', this.requestsTable.tableName, 'Request tracking');
    output('FindingsTableName', this.findingsTable.tableName, 'Remediation send-once state');
    output('StateMachineArn', this.stateMachine.stateMachineArn, 'The pipeline');
    output('BatchStateMachineArn', this.batchStateMachine.stateMachineArn, 'Requests naming several services (Distributed Map over the pipeline)');
    output('AlertTopicArn', this.alertTopic.topicArn, 'Remediation e-mails and alarms');
    output('DeadLetterQueueUrl', this.deadLetterQueue.queueUrl, 'Failed trigger/remediation events');
  }
}
