import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Layer } from './layer';

/** Severity labels of the findings worth an e-mail (ASFF `Severity.Label`). */
export const SECURITY_HUB_SEVERITIES = ['HIGH', 'CRITICAL'];

/**
 * The same severities as OCSF numbers them (`severity_id`: 4 High, 5 Critical, 6 Fatal). Ids, not
 * captions, throughout the OCSF patterns: the ids are the schema's normalized values.
 */
export const OCSF_SEVERITY_IDS = [4, 5, 6];

/** EventBridge detail-types: Security Hub CSPM's ASFF findings and the new Security Hub's OCSF ones. */
export const ASFF_DETAIL_TYPE = 'Security Hub Findings - Imported';
export const OCSF_DETAIL_TYPE = 'Findings Imported V2';

export interface RemediationProps {
  /** The remediation function. */
  readonly remediate: lambda.IFunction;
  /** Where failed deliveries go. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Security Hub -> remediation. Security Hub CSPM sends every imported or updated finding in ASFF as
 * "Security Hub Findings - Imported"; the new Security Hub sends each finding in OCSF as "Findings
 * Imported V2" (one finding per event). Only new (or NEW -> NOTIFIED, OCSF "In Progress") active
 * HIGH/CRITICAL findings are worth an e-mail; the function dedupes repeats through the findings
 * table, keyed on (finding id, control id) for both formats. Two rules per format because findings
 * differ in shape:
 *  - control findings (Security Hub standards, AWS Config) carry a compliance status, and only
 *    failed ones need fixing (ASFF Compliance.Status FAILED, OCSF compliance.status_id 3 Fail);
 *  - threat and vulnerability findings (GuardDuty, Inspector, Macie, IAM Access Analyzer) have no
 *    compliance object at all, so a compliance filter would drop every one of them.
 * EventBridge's `exists: false` matches the second case. An OCSF finding is active unless its
 * activity is Close (`activity_id` 3). (A single rule with `$or` would work too; separate rules keep
 * each pattern to the plainest, most widely supported syntax.)
 */
export class Remediation extends Layer {
  constructor(scope: Construct, id: string, props: RemediationProps) {
    super(scope, id);
    const asffFinding = {
      Severity: { Label: SECURITY_HUB_SEVERITIES },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW', 'NOTIFIED'] },
    };
    const ocsfFinding = {
      severity_id: OCSF_SEVERITY_IDS,
      // status_id 1 New, 2 In Progress (ASFF NOTIFIED)
      status_id: [1, 2],
      // activity_id 3 is Close
      activity_id: [{ 'anything-but': [3] }],
    };
    const ruleTarget = new targets.LambdaFunction(props.remediate, {
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });
    const findingRule = (ruleId: string, description: string, detailType: string, finding: Record<string, unknown>) =>
      new events.Rule(this, ruleId, {
        description,
        eventPattern: {
          source: ['aws.securityhub'],
          detailType: [detailType],
          detail: { findings: finding },
        },
        targets: [ruleTarget],
      });
    findingRule('FailedControlFindingRule', 'gensec: HIGH/CRITICAL failed control findings (ASFF) -> remediation', ASFF_DETAIL_TYPE, {
      ...asffFinding,
      Compliance: { Status: ['FAILED'] },
    });
    findingRule(
      'ThreatFindingRule',
      'gensec: HIGH/CRITICAL findings without a compliance result (ASFF: GuardDuty, Inspector, ...) -> remediation',
      ASFF_DETAIL_TYPE,
      { ...asffFinding, Compliance: { Status: [{ exists: false }] } },
    );
    findingRule('FailedControlFindingV2Rule', 'gensec: High/Critical failed control findings (OCSF) -> remediation', OCSF_DETAIL_TYPE, {
      ...ocsfFinding,
      // compliance.status_id 3 is Fail
      compliance: { status_id: [3] },
    });
    findingRule(
      'ThreatFindingV2Rule',
      'gensec: High/Critical findings without a compliance result (OCSF: GuardDuty, Inspector, ...) -> remediation',
      OCSF_DETAIL_TYPE,
      { ...ocsfFinding, compliance: { status_id: [{ exists: false }] } },
    );
  }
}
