import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { GensecConfig, bedrockModelArns } from '../config';
import { BucketName, BucketTouch, ContextKey, FunctionDef, ValueSource } from '../definitions/functions';
import { Tables } from './tables';

/**
 * What a function's definition names (its environment values and its `touches`), turned into
 * environment variables and IAM statements. Nothing is granted that the definition does not list.
 */

/** The resources functions.json's names refer to. */
export interface FunctionResources {
  readonly buckets: Record<BucketName, s3.IBucket>;
  readonly tables: Tables;
  readonly stateMachine: sfn.IStateMachine;
  readonly batchStateMachine: sfn.IStateMachine;
  readonly topic: sns.ITopic;
  readonly config: GensecConfig;
}

/** The variables the stack sets for the function: those with a value, minus empty context values. */
export function environmentOf(def: FunctionDef, resources: FunctionResources): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of def.environment) {
    const value = variable.value === undefined ? undefined : valueOf(variable.value, resources);
    if (value !== undefined && value !== '') {
      env[variable.name] = value;
    }
  }
  return env;
}

function valueOf(source: ValueSource, resources: FunctionResources): string {
  switch (source.kind) {
    case 'bucket':
      return resources.buckets[source.bucket].bucketName;
    case 'table':
      return resources.tables.byName[source.table].tableName;
    case 'state_machine':
      return resources.stateMachine.stateMachineArn;
    case 'batch_state_machine':
      return resources.batchStateMachine.stateMachineArn;
    case 'topic':
      return resources.topic.topicArn;
    case 'context':
      return contextValue(source.key, resources.config);
    case 'literal':
      return source.text;
  }
}

function contextValue(key: ContextKey, config: GensecConfig): string {
  switch (key) {
    case 'minSeverity':
      return config.minSeverity;
    case 'findingTtlDays':
      return String(config.findingTtlDays);
    case 'setNotified':
      return String(config.setNotified);
    case 'bedrockModelId':
      return config.bedrockModelId;
  }
}

/** One statement per touch; the model and Security Hub only when the configuration uses them. */
export function grantTouches(role: iam.IRole, def: FunctionDef, resources: FunctionResources): void {
  const allow = (actions: readonly string[] | undefined, arns: string[], conditions?: Record<string, unknown>) => {
    if (actions !== undefined && arns.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: arns, conditions }));
    }
  };
  const { touches } = def;
  for (const touch of touches.buckets ?? []) {
    grantBucket(touch, resources.buckets[touch.bucket], allow);
  }
  for (const touch of touches.tables ?? []) {
    allow(touch.actions, resources.tables.arnsWithIndexes(touch.table));
  }
  allow(touches.state_machine, [resources.stateMachine.stateMachineArn]);
  allow(touches.batch_state_machine, [resources.batchStateMachine.stateMachineArn]);
  allow(touches.topic, [resources.topic.topicArn]);
  const { config } = resources;
  // Bedrock: exactly the one configured model; none configured, no grant.
  const stack = Stack.of(role);
  allow(touches.model, config.bedrockModelId === '' ? [] : bedrockModelArns(stack, config.bedrockModelId));
  // Findings are set NOTIFIED only with setNotified; the hub is the account's default one.
  allow(
    touches.security_hub,
    config.setNotified ? [`arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:hub/default`] : [],
  );
}

type Allow = (actions: readonly string[] | undefined, arns: string[], conditions?: Record<string, unknown>) => void;

/** Object actions on the objects under the prefixes (all without); s3:ListBucket on the bucket, limited to them. */
function grantBucket(touch: BucketTouch, bucket: s3.IBucket, allow: Allow): void {
  const objectActions = touch.actions.filter((action) => action !== 's3:ListBucket');
  const prefixes = touch.prefixes ?? [];
  allow(
    objectActions.length > 0 ? objectActions : undefined,
    prefixes.length === 0 ? [bucket.arnForObjects('*')] : prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
  );
  if (touch.actions.includes('s3:ListBucket')) {
    allow(
      ['s3:ListBucket'],
      [bucket.bucketArn],
      prefixes.length === 0 ? undefined : { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
    );
  }
}
