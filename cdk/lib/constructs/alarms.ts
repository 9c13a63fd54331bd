import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Layer } from './layer';

export interface AlarmsProps {
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  readonly remediate: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly stateMachine: sfn.IStateMachine;
}

/** What needs a person: a failed remediation, events in the dead-letter queue, a failed run. */
export class Alarms extends Layer {
  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const action = new cwActions.SnsAction(props.topic);
    const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    alarm(
      'RemediateErrorsAlarm',
      'gensec: the remediation function failed (a finding may not have been e-mailed)',
      props.remediate.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
    alarm(
      'DeadLetterQueueAlarm',
      'gensec: events are waiting in the dead-letter queue (failed trigger or remediation invocations)',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    );
    alarm(
      'PipelineFailedAlarm',
      'gensec: a pipeline execution failed (see the request record and the state machine log group)',
      props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
  }
}
