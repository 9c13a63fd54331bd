import { CfnCondition, CfnParameter, Duration, Fn } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Layer } from './layer';

export interface AlertingProps {
  readonly key: kms.IKey;
  /** Default of the AlertEmail parameter; empty: no subscription unless given at deploy. */
  readonly alertEmail: string;
}

/**
 * Where people and failed events go: the encrypted alert topic (remediation e-mails and alarms)
 * with its optional e-mail subscription, and the dead-letter queue.
 */
export class Alerting extends Layer {
  public readonly topic: sns.Topic;
  /**
   * Failed asynchronous events: trigger and remediation invocations that exhausted their retries,
   * and EventBridge deliveries to the remediation function that failed.
   */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'gensec alerts',
      masterKey: props.key,
      enforceSSL: true,
      // SHA256 signatures on deliveries (gensec's cfg_sns_topic_signature_version).
      signatureVersion: '2',
    });
    const alertEmail = new CfnParameter(this, 'AlertEmail', {
      type: 'String',
      default: props.alertEmail,
      description: 'E-mail address subscribed to the alert topic (remediation e-mails and alarms); empty for none.',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'must be empty or an e-mail address',
    });
    const hasAlertEmail = new CfnCondition(this, 'HasAlertEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alertEmail.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'AlertEmailSubscription', {
      topicArn: this.topic.topicArn,
      protocol: 'email',
      endpoint: alertEmail.valueAsString,
    });
    subscription.cfnOptions.condition = hasAlertEmail;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }
}
