import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RustFunction } from 'cargo-lambda-cdk';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { GensecConfig, bedrockModelArns, configFromContext, isInferenceProfile } from './config';
import { TableDef, TableName, loadTableDefs } from './tables';

/** The Lambda binaries of the `gensec-lambda` Cargo package (the contract with the Rust side). */
export const BINARIES = {
  trigger: 'gensec-trigger',
  documentation: 'gensec-stage-documentation',
  analysis: 'gensec-stage-analysis',
  controls: 'gensec-stage-controls',
  iac: 'gensec-stage-iac',
  iam: 'gensec-stage-iam',
  report: 'gensec-stage-report',
  finalize: 'gensec-finalize',
  recordFailure: 'gensec-record-failure',
  remediate: 'gensec-remediate-finding',
} as const;

export type FunctionKey = keyof typeof BINARIES;

/** The six pipeline stages, in order, and the substitution that carries each one's ARN into the ASL. */
export const STAGES = [
  { key: 'documentation', substitution: 'DocumentationFunctionArn' },
  { key: 'analysis', substitution: 'AnalysisFunctionArn' },
  { key: 'controls', substitution: 'ControlsFunctionArn' },
  { key: 'iac', substitution: 'IacFunctionArn' },
  { key: 'iam', substitution: 'IamFunctionArn' },
  { key: 'report', substitution: 'ReportFunctionArn' },
] as const;

/** Every `${...}` substitution the state machine definition may use. */
export const DEFINITION_SUBSTITUTIONS: Record<string, FunctionKey> = {
  ...Object.fromEntries(STAGES.map((s) => [s.substitution, s.key])),
  FinalizeFunctionArn: 'finalize',
  RecordFailureFunctionArn: 'recordFailure',
};

/** Stages that call the LLM (when a Bedrock model is configured). */
const LLM_STAGES: ReadonlySet<FunctionKey> = new Set<FunctionKey>(['analysis', 'report']);

export const SECURITY_HUB_SEVERITIES = ['HIGH', 'CRITICAL'];

/** Configuration comes from context (see config.ts): `-c bedrockModelId=...`, cdk.json, ... */
export type GensecStackProps = StackProps;

interface FunctionSpec {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
}

/**
 * gensec on AWS: S3 upload of a service request -> trigger Lambda -> Step Functions running one
 * Rust Lambda per pipeline stage -> S3 output bucket + DynamoDB library/requests tables; and
 * Security Hub finding -> EventBridge -> remediation Lambda -> SNS e-mail.
 */
export class GensecStack extends Stack {
  public readonly config: GensecConfig;
  public readonly key: kms.Key;
  public readonly accessLogBucket: s3.Bucket;
  public readonly inputBucket: s3.Bucket;
  public readonly outputBucket: s3.Bucket;
  public readonly libraryTable: dynamodb.Table;
  public readonly requestsTable: dynamodb.Table;
  public readonly findingsTable: dynamodb.Table;
  public readonly functions: Record<FunctionKey, lambda.Function>;
  public readonly roles: Record<FunctionKey, iam.Role>;
  public readonly stateMachine: sfn.StateMachine;
  public readonly alertTopic: sns.Topic;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: GensecStackProps = {}) {
    super(scope, id, {
      description: 'gensec: security packages for AWS services (Step Functions pipeline) and Security Hub finding remediation',
      ...props,
    });
    const config = configFromContext(this);
    this.config = config;

    // ---------------------------------------------------------------- key
    this.key = new kms.Key(this, 'Key', {
      description: 'gensec: encrypts buckets, tables, log groups, the alert topic and Lambda environments',
      enableKeyRotation: true,
      // Retained data (tables, buckets) is unreadable without its key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts this stack's log groups with the key (only log groups of this account and region).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the KMS-encrypted alert topic.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    // ---------------------------------------------------------------- buckets
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      // Server access log delivery supports SSE-S3 only on the destination bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const dataBucket = (id: string, logPrefix: string): s3.Bucket =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        versioned: true,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        serverAccessLogsBucket: this.accessLogBucket,
        serverAccessLogsPrefix: logPrefix,
        lifecycleRules: [
          {
            id: 'tidy-versions-and-uploads',
            noncurrentVersionExpiration: Duration.days(90),
            abortIncompleteMultipartUploadAfter: Duration.days(7),
          },
        ],
        removalPolicy: RemovalPolicy.RETAIN,
      });
    // security-profile/*.json (stored only) and service-request/*.json (each upload starts a run).
    this.inputBucket = dataBucket('InputBucket', 'input/');
    // <service_id>/<request_id>/... run outputs (DESIGN.md "Output layout").
    this.outputBucket = dataBucket('OutputBucket', 'output/');

    // ---------------------------------------------------------------- tables
    // Keys, indexes and TTL from crates/gensec-aws/tables.json (the one definition, shared with the
    // Rust adapter tests); encryption, recovery, billing and retention here.
    const tableDefs = loadTableDefs(config.tablesPath);
    const str = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    const table = (id: string, def: TableDef): dynamodb.Table => {
      const t = new dynamodb.Table(this, id, {
        partitionKey: str(def.partition_key),
        sortKey: def.sort_key === undefined ? undefined : str(def.sort_key),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: def.ttl_attribute,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      for (const index of def.indexes) {
        t.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: str(index.partition_key),
          sortKey: str(index.sort_key),
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      return t;
    };
    this.libraryTable = table('LibraryTable', tableDefs.library);
    this.requestsTable = table('RequestsTable', tableDefs.requests);
    this.findingsTable = table('FindingsTable', tableDefs.findings);
    const tables: Record<TableName, dynamodb.Table> = {
      library: this.libraryTable,
      requests: this.requestsTable,
      findings: this.findingsTable,
    };

    // ---------------------------------------------------------------- alerting
    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'gensec alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    const alertEmail = new CfnParameter(this, 'AlertEmail', {
      type: 'String',
      default: config.alertEmail,
      description: 'E-mail address subscribed to the alert topic (remediation e-mails and alarms); empty for none.',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'must be empty or an e-mail address',
    });
    const hasAlertEmail = new CfnCondition(this, 'HasAlertEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alertEmail.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'AlertEmailSubscription', {
      topicArn: this.alertTopic.topicArn,
      protocol: 'email',
      endpoint: alertEmail.valueAsString,
    });
    subscription.cfnOptions.condition = hasAlertEmail;

    // Failed asynchronous events: trigger and remediation invocations that exhausted their retries,
    // and EventBridge deliveries to the remediation function that failed.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // ---------------------------------------------------------------- functions
    const env: Record<string, Record<string, string>> = {
      input: { GENSEC_INPUT_BUCKET: this.inputBucket.bucketName },
      output: { GENSEC_OUTPUT_BUCKET: this.outputBucket.bucketName },
      library: { GENSEC_LIBRARY_TABLE: this.libraryTable.tableName },
      requests: { GENSEC_REQUESTS_TABLE: this.requestsTable.tableName },
      bedrock: config.bedrockModelId === '' ? {} : { GENSEC_BEDROCK_MODEL_ID: config.bedrockModelId },
    };
    const stage = (description: string, extra: Record<string, string> = {}): FunctionSpec => ({
      description,
      memorySize: 1024,
      timeout: Duration.minutes(5),
      environment: { ...env.output, ...env.library, ...env.requests, ...extra },
    });
    const specs: Record<Exclude<FunctionKey, 'trigger'>, FunctionSpec> = {
      documentation: stage('gensec stage 1: collect service documentation'),
      analysis: stage('gensec stage 2: analyse requirements', env.bedrock),
      controls: stage('gensec stage 3: generate detective, preventive and proactive controls'),
      iac: stage('gensec stage 4: generate hardened CloudFormation and Terraform'),
      iam: stage('gensec stage 5: generate the IAM model'),
      report: stage('gensec stage 6: service profile and report', env.bedrock),
      finalize: {
        description: 'gensec: write the manifest and mark the request complete',
        memorySize: 512,
        // Under the definition's 120 s task timeout, so the function's own timeout is what fires.
        timeout: Duration.seconds(90),
        environment: { ...env.output, ...env.requests },
      },
      recordFailure: {
        description: 'gensec: record a failed pipeline run on its request',
        memorySize: 256,
        timeout: Duration.seconds(30),
        environment: { ...env.requests },
      },
      remediate: {
        description: 'gensec: Security Hub finding -> remediation e-mail',
        memorySize: 512,
        timeout: Duration.seconds(60),
        environment: {
          GENSEC_FINDINGS_TABLE: this.findingsTable.tableName,
          GENSEC_TOPIC_ARN: this.alertTopic.topicArn,
          GENSEC_MIN_SEVERITY: config.minSeverity,
          GENSEC_FINDING_TTL_DAYS: String(config.findingTtlDays),
          GENSEC_SET_NOTIFIED: String(config.setNotified),
          ...env.bedrock,
        },
      },
    };

    const functions: Partial<Record<FunctionKey, lambda.Function>> = {};
    const roles: Partial<Record<FunctionKey, iam.Role>> = {};
    const makeFunction = (key: FunctionKey, spec: FunctionSpec, extra: Partial<lambda.FunctionProps> = {}) => {
      const binary = BINARIES[key];
      const role = new iam.Role(this, `${pascal(key)}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Execution role of ${binary}`,
      });
      const logGroup = new logs.LogGroup(this, `${pascal(key)}LogGroup`, {
        retention: logs.RetentionDays.ONE_MONTH,
        encryptionKey: this.key,
      });
      // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this function's log group only.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      // The key: S3 SSE-KMS, DynamoDB, SNS and the encrypted environment.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [this.key.keyArn],
        }),
      );
      const common = {
        description: spec.description,
        role,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        architecture: lambda.Architecture.ARM_64,
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
        environment: { ...spec.environment, RUST_LOG: 'info' },
        environmentEncryption: this.key,
        ...extra,
      } satisfies Partial<lambda.FunctionProps>;
      const fn =
        config.lambdaCode.kind === 'prebuilt'
          ? new lambda.Function(this, pascal(key), {
              ...common,
              runtime: lambda.Runtime.PROVIDED_AL2023,
              handler: 'bootstrap',
              code: lambda.Code.fromAsset(prebuiltDir(config.lambdaCode.dir, binary)),
            })
          : new RustFunction(this, pascal(key), {
              ...common,
              runtime: 'provided.al2023',
              manifestPath: config.lambdaCode.manifestPath,
              binaryName: binary,
              bundling: { cargoLambdaFlags: ['--package', 'gensec-lambda'] },
            });
      functions[key] = fn;
      roles[key] = role;
      return fn;
    };

    for (const key of Object.keys(specs) as Exclude<FunctionKey, 'trigger'>[]) {
      const extra: Partial<lambda.FunctionProps> =
        key === 'remediate'
          ? { deadLetterQueue: this.deadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(6) }
          : {};
      makeFunction(key, specs[key], extra);
    }

    // ---------------------------------------------------------------- state machine
    const smLogGroup = new logs.LogGroup(this, 'StateMachineLogGroup', {
      // Vended logs need the /aws/vendedlogs/ prefix to avoid the log resource policy size limit.
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-pipeline`,
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: this.key,
      // A fixed name would collide with a retained copy when the stack is re-created.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    if (!fs.existsSync(config.definitionPath)) {
      throw new Error(`state machine definition not found: ${config.definitionPath}`);
    }
    const definitionSubstitutions = Object.fromEntries(
      Object.entries(DEFINITION_SUBSTITUTIONS).map(([name, key]) => [name, fn(functions, key).functionArn]),
    );
    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      comment: 'gensec pipeline: six stages, finalize; any failure -> record-failure',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(config.definitionPath),
      definitionSubstitutions,
      tracingEnabled: true,
      timeout: Duration.hours(1),
      logs: { destination: smLogGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // A file definition is opaque to CDK, so the invoke permission is granted by hand: exactly these
    // functions, unqualified ARNs (the definition invokes $LATEST through arn:aws:states:::lambda:invoke).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(DEFINITION_SUBSTITUTIONS).map((key) => fn(functions, key).functionArn),
      }),
    );

    // ---------------------------------------------------------------- trigger
    const trigger = makeFunction(
      'trigger',
      {
        description: 'gensec: service-request/*.json upload -> start the pipeline',
        memorySize: 256,
        timeout: Duration.seconds(30),
        environment: {
          ...env.input,
          ...env.output,
          ...env.requests,
          GENSEC_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        },
      },
      { deadLetterQueue: this.deadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(6) },
    );
    this.inputBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(trigger), {
      prefix: 'service-request/',
      suffix: '.json',
    });

    this.functions = functions as Record<FunctionKey, lambda.Function>;
    this.roles = roles as Record<FunctionKey, iam.Role>;

    // ---------------------------------------------------------------- permissions
    const allow = (key: FunctionKey, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      this.roles[key].addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, conditions }));
    const readWriteItems = [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
    ];
    // A table and every index tables.json gives it.
    const tableAndIndexes = (name: TableName) => [
      tables[name].tableArn,
      ...tableDefs[name].indexes.map((index) => `${tables[name].tableArn}/index/${index.name}`),
    ];
    const outputObjects = this.outputBucket.arnForObjects('*');

    // trigger
    allow('trigger', ['s3:GetObject'], [
      this.inputBucket.arnForObjects('service-request/*'),
      this.inputBucket.arnForObjects('security-profile/*'),
    ]);
    allow('trigger', ['s3:ListBucket'], [this.inputBucket.bucketArn], {
      StringLike: { 's3:prefix': ['security-profile/*'] },
    });
    allow('trigger', ['s3:PutObject'], [outputObjects]);
    allow(
      'trigger',
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      tableAndIndexes('requests'),
    );
    this.stateMachine.grantStartExecution(this.roles.trigger);

    // stages and finalize
    for (const key of [...STAGES.map((s) => s.key), 'finalize'] as FunctionKey[]) {
      allow(key, ['s3:GetObject', 's3:PutObject'], [outputObjects]);
      allow(key, ['s3:ListBucket'], [this.outputBucket.bucketArn]);
      allow(key, readWriteItems, tableAndIndexes('requests'));
    }
    for (const { key } of STAGES) {
      allow(key, [...readWriteItems, 'dynamodb:Scan'], tableAndIndexes('library'));
    }

    // record-failure
    allow('recordFailure', readWriteItems, tableAndIndexes('requests'));

    // remediation
    allow(
      'remediate',
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      tableAndIndexes('findings'),
    );
    allow('remediate', ['sns:Publish'], [this.alertTopic.topicArn]);
    if (config.setNotified) {
      allow('remediate', ['securityhub:BatchUpdateFindings'], [
        `arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:hub/default`,
      ]);
    }

    // Bedrock: exactly one model, only for the functions that call it.
    if (config.bedrockModelId !== '') {
      const modelArns = bedrockModelArns(this, config.bedrockModelId);
      for (const key of [...LLM_STAGES, 'remediate'] as FunctionKey[]) {
        allow(key, ['bedrock:InvokeModel'], modelArns);
      }
    }

    // ---------------------------------------------------------------- Security Hub -> remediation
    // Security Hub sends every imported or updated finding as "Security Hub Findings - Imported". Only
    // new (or NEW -> NOTIFIED) active HIGH/CRITICAL findings are worth an e-mail; the function dedupes
    // repeats through the findings table. Two rules because findings differ in shape:
    //  - control findings (Security Hub CSPM standards, AWS Config) carry Compliance.Status, and only
    //    FAILED ones need fixing (PASSED/WARNING/NOT_AVAILABLE do not);
    //  - threat and vulnerability findings (GuardDuty, Inspector, Macie, IAM Access Analyzer) have no
    //    Compliance object at all, so a Compliance.Status=FAILED filter would drop every one of them.
    // EventBridge's `exists: false` matches the second case. (A single rule with `$or` would work too;
    // two rules keep each pattern to the plainest, most widely supported syntax.)
    const baseFinding = {
      Severity: { Label: SECURITY_HUB_SEVERITIES },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW', 'NOTIFIED'] },
    };
    const remediate = this.functions.remediate;
    const ruleTarget = new targets.LambdaFunction(remediate, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });
    const findingRule = (id: string, description: string, compliance: Record<string, unknown>) =>
      new events.Rule(this, id, {
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

    // ---------------------------------------------------------------- alarms
    const alarmAction = new cwActions.SnsAction(this.alertTopic);
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(alarmAction);
    alarm(
      'RemediateErrorsAlarm',
      'gensec: the remediation function failed (a finding may not have been e-mailed)',
      remediate.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
    alarm(
      'DeadLetterQueueAlarm',
      'gensec: events are waiting in the dead-letter queue (failed trigger or remediation invocations)',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    );
    alarm(
      'PipelineFailedAlarm',
      'gensec: a pipeline execution failed (see the request record and the state machine log group)',
      this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );

    // ---------------------------------------------------------------- outputs
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('InputBucketName', this.inputBucket.bucketName, 'Upload security-profile/*.json and service-request/*.json here');
    output('OutputBucketName', this.outputBucket.bucketName, 'Run outputs: <service_id>/<request_id>/...');
    output('AccessLogBucketName', this.accessLogBucket.bucketName, 'S3 server access logs of the two buckets');
    output('LibraryTableName', this.libraryTable.tableName, 'Security Control Library');
    output('RequestsTableName', this.requestsTable.tableName, 'Request tracking');
    output('FindingsTableName', this.findingsTable.tableName, 'Remediation send-once state');
    output('StateMachineArn', this.stateMachine.stateMachineArn, 'The pipeline');
    output('AlertTopicArn', this.alertTopic.topicArn, 'Remediation e-mails and alarms');
    output('DeadLetterQueueUrl', this.deadLetterQueue.queueUrl, 'Failed trigger/remediation events');

    this.addNagSuppressions();
  }

  /** The few cdk-nag findings that cannot be fixed; each names exactly what it covers and why. */
  private addNagSuppressions(): void {
    const xrayReason =
      'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS requires Resource "*").';
    for (const role of Object.values(this.roles)) {
      NagSuppressions.addResourceSuppressions(
        role,
        [{ id: 'AwsSolutions-IAM5', reason: xrayReason, appliesTo: ['Resource::*'] }],
        true,
      );
    }
    // Output objects are keyed <service_id>/<request_id>/...: both parts come from the request at run time.
    NagSuppressions.addStackSuppressions(this, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Pipeline functions read and write run outputs under <service_id>/<request_id>/ in the output bucket; the keys are only known at run time, so the grant is on the bucket\'s objects (this bucket only).',
        appliesTo: [{ regex: '/^Resource::<OutputBucket[0-9A-F]{8}\\.Arn>\\/\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The trigger reads uploaded documents by key under the two input prefixes (service-request/ and security-profile/) only.',
        appliesTo: [
          { regex: '/^Resource::<InputBucket[0-9A-F]{8}\\.Arn>\\/(service-request|security-profile)\\/\\*$/' },
        ],
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      this.stateMachine,
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
    // CDK's own singleton handler that writes the input bucket's notification configuration (a
    // CloudFormation custom resource; CDK gives its role no other way to write logs).
    for (const child of this.node.children) {
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
    if (isInferenceProfile(this.config.bedrockModelId)) {
      NagSuppressions.addStackSuppressions(this, [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'A cross-region inference profile routes each request to the foundation model in any of the profile\'s regions, so the foundation-model grant (one model only) must name every region.',
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:bedrock:\\*::foundation-model\\/.+$/' }],
        },
      ]);
    }
  }
}

function fn(functions: Partial<Record<FunctionKey, lambda.Function>>, key: FunctionKey): lambda.Function {
  const f = functions[key];
  if (f === undefined) {
    throw new Error(`function ${key} is not defined yet`);
  }
  return f;
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

function prebuiltDir(dir: string, binary: string): string {
  const binDir = path.join(dir, binary);
  if (!fs.existsSync(path.join(binDir, 'bootstrap'))) {
    throw new Error(
      `${binDir}/bootstrap not found: build the Lambdas first (scripts/build-lambdas, i.e. cargo lambda build --release --arm64 --package gensec-lambda)`,
    );
  }
  return binDir;
}
