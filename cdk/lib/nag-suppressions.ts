import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { isInferenceProfile } from './config';

export interface NagSubjects {
  readonly stack: Stack;
  readonly functionRoles: readonly iam.IRole[];
  readonly stateMachine: sfn.StateMachine;
  readonly batchStateMachine: sfn.StateMachine;
  readonly bedrockModelId: string;
}

/** The few cdk-nag findings that cannot be fixed; each names exactly what it covers and why. */
export function addNagSuppressions({ stack, functionRoles, stateMachine, batchStateMachine, bedrockModelId }: NagSubjects): void {
  const xrayReason =
    'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS requires Resource "*").';
  for (const role of functionRoles) {
    NagSuppressions.addResourceSuppressions(role, [{ id: 'AwsSolutions-IAM5', reason: xrayReason, appliesTo: ['Resource::*'] }], true);
  }
  // Output objects are keyed <service_id>/<request_id>/...: both parts come from the request at run time.
  NagSuppressions.addStackSuppressions(stack, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'Pipeline functions read and write run outputs under <service_id>/<request_id>/ in the output bucket; the keys are only known at run time, so the grant is on the bucket\'s objects (this bucket only).',
      appliesTo: [{ regex: '/^Resource::<OutputBucket[0-9A-F]{8}\\.Arn>\\/\\*$/' }],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'The trigger reads uploaded documents by key under the two input prefixes (service-request/ and security-profile/) only.',
      appliesTo: [{ regex: '/^Resource::<InputBucket[0-9A-F]{8}\\.Arn>\\/(service-request|security-profile)\\/\\*$/' }],
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    stateMachine,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Step Functions logging and X-Ray: the logs:*LogDelivery/ResourcePolicy/DescribeLogGroups and xray actions the service requires support no resource-level permissions (AWS requires Resource "*").',
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    batchStateMachine,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Step Functions logging and X-Ray: the logs:*LogDelivery/ResourcePolicy/DescribeLogGroups and xray actions the service requires support no resource-level permissions (AWS requires Resource "*").',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The Distributed Map polls and stops the executions it starts (pipeline children, and its own child workflow executions); execution names are request ids known only at run time, so the grant is on the executions of exactly these two state machines.',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.+:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: "The Map's ItemReader reads the items the resolve step wrote under _runs/<request_id>/ in the output bucket; request ids are known only at run time.",
        appliesTo: [{ regex: '/^Resource::<OutputBucket[0-9A-F]{8}\\.Arn>\\/_runs\\/\\*$/' }],
      },
    ],
    true,
  );
  suppressBucketNotificationsHandler(stack);
  if (isInferenceProfile(bedrockModelId)) {
    NagSuppressions.addStackSuppressions(stack, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'A cross-region inference profile routes each request to the foundation model in any of the profile\'s regions, so the foundation-model grant (one model only) must name every region.',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:bedrock:\\*::foundation-model\\/.+$/' }],
      },
    ]);
  }
}

/**
 * CDK's own singleton handler that writes the input bucket's notification configuration (a
 * CloudFormation custom resource; CDK gives its role no other way to write logs).
 */
function suppressBucketNotificationsHandler(stack: Stack): void {
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('BucketNotificationsHandler')) {
      NagSuppressions.addResourceSuppressions(
        child,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason:
              'CDK\'s BucketNotificationsHandler custom resource (sets the input bucket\'s notification configuration at deploy time) is created with AWSLambdaBasicExecutionRole; its only other permission is s3:PutBucketNotification on the input bucket.',
            appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          },
        ],
        true,
      );
    }
  }
}
