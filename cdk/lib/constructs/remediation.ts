import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Layer } from './layer';

/** Severity labels of the findings worth an e-mail. */
export const SECURITY_HUB_SEVERITIES = ['HIGH', 'CRITICAL'];

export interface RemediationProps {
  /** The remediation function. */
  readonly remediate: lambda.IFunction;
  /** Where failed deliveries go. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Security Hub -> remediation. Security Hub sends every imported or updated finding as "Security
 * Hub Findings - Imported". Only new (or NEW -> NOTIFIED) active HIGH/CRITICAL findings are worth
 * an e-mail; the function dedupes repeats through the findings table. Two rules because findings
 * differ in shape:
 *  - control findings (Security Hub CSPM standards, AWS Config) carry Compliance.Status, and only
 *    FAILED ones need fixing (PASSED/WARNING/NOT_AVAILABLE do not);
 *  - threat and vulnerability findings (GuardDuty, Inspector, Macie, IAM Access Analyzer) have no
 *    Compliance object at all, so a Compliance.Status=FAILED filter would drop every one of them.
 * EventBridge's `exists: false` matches the second case. (A single rule with `$or` would work too;
 * two rules keep each pattern to the plainest, most widely supported syntax.)
 */
export class Remediation extends Layer {
  constructor(scope: Construct, id: string, props: RemediationProps) {
    super(scope, id);
    const baseFinding = {
      Severity: { Label: SECURITY_HUB_SEVERITIES },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW', 'NOTIFIED'] },
    };
    const ruleTarget = new targets.LambdaFunction(props.remediate, {
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });
    const findingRule = (ruleId: string, description: string, compliance: Record<string, unknown>) =>
      new events.Rule(this, ruleId, {
        description,
        eventPattern: {
          source: ['aws.securityhub'],
          detailType: ['Security Hub Findings - Imported'],
          detail: { findings: { ...baseFinding, ...compliance } },
        },
        targets: [ruleTarget],
      });
    findingRule('FailedControlFindingRule', 'gensec: HIGH/CRITICAL failed control findings -> remediation', {
      Compliance: { Status: ['FAILED'] },
    });
    findingRule(
      'ThreatFindingRule',
      'gensec: HIGH/CRITICAL findings without a compliance result (GuardDuty, Inspector, ...) -> remediation',
      { Compliance: { Status: [{ exists: false }] } },
    );
  }
}
