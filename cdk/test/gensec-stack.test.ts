import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { GensecStack } from '../lib/gensec-stack';
import {
  FUNCTION_IDS,
  Json,
  REPO_ROOT,
  TABLES_JSON,
  arnOf,
  functionLogicalId,
  functionsFile,
  grants,
  logicalId,
  makeStack,
  synth,
} from './helpers';

/**
 * The functions the pipeline state machine invokes, by their substitution in the ASL file
 * (functions.json; the batch function is the batch state machine's, see batch.test.ts).
 */
const SUBSTITUTIONS: Record<string, string> = Object.fromEntries(
  Object.entries(functionsFile().functions)
    .filter(([, fn]: [string, Json]) => fn.asl_substitution !== undefined && fn.handler !== 'batch')
    .map(([id, fn]: [string, Json]) => [fn.asl_substitution, id]),
);

describe('input bucket notification', () => {
  test('only service-request/*.json uploads invoke the trigger', () => {
    const { stack, template } = synth();
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')) as Json[];
    expect(notifications).toHaveLength(1);
    const props = notifications[0].Properties;
    expect(props.BucketName).toEqual({ Ref: logicalId(stack, stack.inputBucket) });
    const config = props.NotificationConfiguration;
    expect(config.TopicConfigurations).toBeUndefined();
    expect(config.QueueConfigurations).toBeUndefined();
    expect(config.LambdaFunctionConfigurations).toEqual([
      {
        Events: ['s3:ObjectCreated:*'],
        Filter: {
          Key: {
            FilterRules: [
              { Name: 'suffix', Value: '.json' },
              { Name: 'prefix', Value: 'service-request/' },
            ],
          },
        },
        LambdaFunctionArn: arnOf(functionLogicalId(stack, 'trigger')),
      },
    ]);
  });

  test('S3 may invoke the trigger only from the input bucket', () => {
    const { stack, template } = synth();
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      FunctionName: arnOf(functionLogicalId(stack, 'trigger')),
      SourceArn: arnOf(logicalId(stack, stack.inputBucket)),
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });
});

describe('buckets', () => {
  test('input and output: KMS with the stack key, versioned, private, access-logged, retained', () => {
    const { stack, template } = synth();
    const keyArn = arnOf(logicalId(stack, stack.key));
    const logBucket = logicalId(stack, stack.accessLogBucket);
    for (const [bucket, prefix] of [
      [stack.inputBucket, 'input/'],
      [stack.outputBucket, 'output/'],
    ] as const) {
      const resource = template.findResources('AWS::S3::Bucket')[logicalId(stack, bucket)] as Json;
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      expect(resource.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: { Ref: logBucket }, LogFilePrefix: prefix },
      });
    }
  });

  test('access log bucket: SSE-S3 (required for log delivery), private, expiring, retained', () => {
    const { stack, template } = synth();
    const resource = template.findResources('AWS::S3::Bucket')[logicalId(stack, stack.accessLogBucket)] as Json;
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-access-logs', ExpirationInDays: 365, Status: 'Enabled' }] },
    });
  });

  test('every bucket denies requests without TLS', () => {
    const { stack, template } = synth();
    for (const bucket of [stack.inputBucket, stack.outputBucket, stack.accessLogBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(stack, bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('tables', () => {
  /** The stack's table for each logical name of tables.json. */
  const byName = (stack: GensecStack): Record<string, { node: { defaultChild?: unknown } }> => ({
    library: stack.libraryTable,
    requests: stack.requestsTable,
    findings: stack.findingsTable,
  });

  test('every table: on-demand, the stack key, point-in-time recovery, retained', () => {
    const { stack, template } = synth();
    const all = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(all)).toHaveLength(3);
    for (const table of Object.values(byName(stack))) {
      const resource = all[logicalId(stack, table)] as Json;
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      expect(resource.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(logicalId(stack, stack.key)) },
      });
    }
  });

  test('keys, GSIs and TTL are exactly crates/gensec-aws/tables.json', () => {
    const file = JSON.parse(fs.readFileSync(TABLES_JSON, 'utf8')) as Json;
    delete file._comment;
    const { stack, template } = synth();
    const all = template.findResources('AWS::DynamoDB::Table');
    const tables = byName(stack);
    // Every table in the file is in the stack and every table in the stack is in the file.
    expect(Object.keys(file).sort()).toEqual(Object.keys(tables).sort());
    expect(Object.keys(all)).toHaveLength(Object.keys(file).length);

    const keySchema = (partition: string, sort?: string) => [
      { AttributeName: partition, KeyType: 'HASH' },
      ...(sort === undefined ? [] : [{ AttributeName: sort, KeyType: 'RANGE' }]),
    ];
    for (const [name, def] of Object.entries(file) as [string, Json][]) {
      const props = (all[logicalId(stack, tables[name])] as Json).Properties;
      const indexes: Json[] = def.indexes ?? [];
      const attributes = [
        ...new Set([def.partition_key, def.sort_key, ...indexes.flatMap((i) => [i.partition_key, i.sort_key])]),
      ]
        .filter((a) => a !== undefined)
        .sort();
      const actualAttributes = [...props.AttributeDefinitions].sort((a: Json, b: Json) =>
        a.AttributeName.localeCompare(b.AttributeName),
      );
      expect([name, props.KeySchema]).toEqual([name, keySchema(def.partition_key, def.sort_key)]);
      expect([name, actualAttributes]).toEqual([name, attributes.map((a) => ({ AttributeName: a, AttributeType: 'S' }))]);
      expect([name, props.GlobalSecondaryIndexes]).toEqual([
        name,
        indexes.length === 0
          ? undefined
          : indexes.map((i) => ({
              IndexName: i.name,
              KeySchema: keySchema(i.partition_key, i.sort_key),
              Projection: { ProjectionType: 'ALL' },
            })),
      ]);
      expect([name, props.TimeToLiveSpecification]).toEqual([
        name,
        def.ttl_attribute === undefined ? undefined : { AttributeName: def.ttl_attribute, Enabled: true },
      ]);
      expect([name, props.LocalSecondaryIndexes]).toEqual([name, undefined]);
    }
  });

  test.each<[string, (tables: Json) => void, RegExp]>([
    ['a missing table', (t) => delete t.requests, /table 'requests' is missing/],
    ['an extra table', (t) => (t.extra = { partition_key: 'id' }), /table 'extra' is not one the stack creates/],
    ['an unknown field', (t) => (t.findings.ttl = 'expires_at'), /findings: unknown field 'ttl'/],
    ['an index without a sort key', (t) => delete t.requests.indexes[0].sort_key, /requests\.indexes\[0\]\.sort_key must be/],
  ])('a tables.json with %s stops the synth', (_what, change, error) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-tables-'));
    try {
      const tables = JSON.parse(fs.readFileSync(TABLES_JSON, 'utf8')) as Json;
      change(tables);
      fs.mkdirSync(path.join(root, 'crates', 'gensec-aws'), { recursive: true });
      fs.writeFileSync(path.join(root, 'crates', 'gensec-aws', 'tables.json'), JSON.stringify(tables));
      expect(() => makeStack({ repoRoot: root })).toThrow(error);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('state machine', () => {
  test('STANDARD, X-Ray, ALL events logged to an encrypted log group with retention', () => {
    const { stack, template } = synth();
    const sm = template.findResources('AWS::StepFunctions::StateMachine')[logicalId(stack, stack.stateMachine)] as Json;
    expect(sm.Properties.StateMachineType).toBe('STANDARD');
    expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.Properties.LoggingConfiguration.Level).toBe('ALL');
    // gensec's cfg_stepfunctions_statemachine_no_execution_data_in_logs: payloads stay out of the logs.
    expect(sm.Properties.LoggingConfiguration.IncludeExecutionData).toBe(false);
    const logGroupId = sm.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as Json;
    expect(logGroup.Properties.RetentionInDays).toBe(365);
    expect(logGroup.Properties.KmsKeyId).toEqual(arnOf(logicalId(stack, stack.key)));
  });

  test('definition comes from the ASL file and every function ARN is substituted', () => {
    const { stack, template } = synth();
    const sm = template.findResources('AWS::StepFunctions::StateMachine')[logicalId(stack, stack.stateMachine)] as Json;
    expect(sm.Properties.DefinitionS3Location).toBeDefined();
    expect(sm.Properties.DefinitionSubstitutions).toEqual({
      DocumentationFunctionArn: arnOf(functionLogicalId(stack, 'documentation')),
      AnalysisFunctionArn: arnOf(functionLogicalId(stack, 'analysis')),
      ControlsFunctionArn: arnOf(functionLogicalId(stack, 'controls')),
      IacFunctionArn: arnOf(functionLogicalId(stack, 'iac')),
      IamFunctionArn: arnOf(functionLogicalId(stack, 'iam')),
      ReportFunctionArn: arnOf(functionLogicalId(stack, 'report')),
      FinalizeFunctionArn: arnOf(functionLogicalId(stack, 'finalize')),
      RecordFailureFunctionArn: arnOf(functionLogicalId(stack, 'record_failure')),
    });
  });

  test('the ASL file uses exactly the substitutions the stack provides, and invokes Lambdas by them', () => {
    const asl = fs.readFileSync(
      path.join(REPO_ROOT, 'crates', 'gensec-lambda', 'state-machine', 'pipeline.asl.json'),
      'utf8',
    );
    const definition = JSON.parse(asl) as Json;
    expect(definition.StartAt).toBeDefined();
    const used = new Set([...asl.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(SUBSTITUTIONS).sort());
    // Every Lambda task names its function through a substitution (an unqualified ARN, which is
    // what the state machine role is granted).
    const tasks: Json[] = [];
    const collect = (states: Json) => {
      for (const state of Object.values(states ?? {}) as Json[]) {
        if (state.Type === 'Task') tasks.push(state);
        for (const branch of state.Branches ?? []) collect(branch.States);
        if (state.Iterator) collect(state.Iterator.States);
        if (state.ItemProcessor) collect(state.ItemProcessor.States);
      }
    };
    collect(definition.States);
    expect(tasks.length).toBeGreaterThanOrEqual(8);
    for (const task of tasks) {
      expect(task.Resource).toMatch(/^arn:aws:states:::lambda:invoke/);
      const fnName = task.Parameters?.FunctionName ?? task.Arguments?.FunctionName;
      expect(fnName).toMatch(/^\$\{[A-Za-z]+FunctionArn\}$/);
    }
  });

  test('each task times out after its function does, so the function\'s own timeout is what fires', () => {
    const { stack, template } = synth();
    const definition = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'crates', 'gensec-lambda', 'state-machine', 'pipeline.asl.json'), 'utf8'),
    ) as Json;
    const checked: string[] = [];
    for (const [name, state] of Object.entries(definition.States) as [string, Json][]) {
      if (state.Type !== 'Task' || state.TimeoutSeconds === undefined) continue;
      const substitution = /^\$\{(\w+)\}$/.exec(state.Parameters.FunctionName)![1];
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, SUBSTITUTIONS[substitution])] as Json;
      expect([name, fn.Properties.Timeout < state.TimeoutSeconds]).toEqual([name, true]);
      checked.push(substitution);
    }
    // The six stages and finalize all carry a task timeout (record-failure runs without one).
    expect(checked.sort()).toEqual(Object.keys(SUBSTITUTIONS).filter((k) => k !== 'RecordFailureFunctionArn').sort());
  });

  test('its role may invoke exactly the eight pipeline functions, unqualified', () => {
    const { stack, template } = synth();
    const role = logicalId(stack, stack.stateMachine.role);
    const invoke = grants(template, role).get('lambda:InvokeFunction') ?? [];
    const expected = Object.values(SUBSTITUTIONS).map((key) => arnOf(functionLogicalId(stack, key)));
    expect(new Set(invoke)).toEqual(new Set(expected));
    expect(invoke).toHaveLength(8);
  });
});

/**
 * EventBridge's matching, as far as these rules use it: every leaf of the pattern lists what may
 * match the values found at its path in the event (arrays flattened, as EventBridge does): literal
 * strings or numbers, `{ exists: false }`, `{ 'anything-but': [...] }`.
 */
function matches(pattern: Json, event: Json): boolean {
  const valuesAt = (value: unknown, key: string): unknown[] => {
    const items = Array.isArray(value) ? value : [value];
    return items.flatMap((item) =>
      item !== null && typeof item === 'object' && key in (item as Json) ? [(item as Json)[key]] : [],
    );
  };
  const leaf = (allowed: unknown[], found: unknown[]): boolean => {
    const scalars = found.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v === null || typeof v !== 'object');
    return allowed.some((rule) => {
      if (rule !== null && typeof rule === 'object') {
        const r = rule as Json;
        if ('exists' in r) return r.exists ? scalars.length > 0 : scalars.length === 0;
        if ('anything-but' in r) return scalars.some((v) => !(r['anything-but'] as unknown[]).includes(v));
        throw new Error(`pattern operator not modelled: ${JSON.stringify(r)}`);
      }
      return scalars.includes(rule);
    });
  };
  const walk = (p: Json, values: unknown[]): boolean =>
    Object.entries(p).every(([key, sub]) => {
      const found = values.flatMap((v) => valuesAt(v, key));
      return Array.isArray(sub) ? leaf(sub, found) : walk(sub as Json, found);
    });
  return walk(pattern, [event]);
}

const FIXTURES = path.join(REPO_ROOT, 'crates', 'gensec-remediate', 'tests', 'fixtures');
const fixture = (name: string): Json => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
/** An ASFF finding fixture as Security Hub CSPM's EventBridge event. */
const asffEvent = (name: string): Json => ({
  source: 'aws.securityhub',
  'detail-type': 'Security Hub Findings - Imported',
  detail: { findings: [fixture(name)] },
});
/** An OCSF event fixture with one change to its finding. */
const ocsfEvent = (name: string, change: (finding: Json) => void = () => {}): Json => {
  const event = fixture(name);
  change(event.detail.findings[0]);
  return event;
};

describe('remediation', () => {
  const ruleNames = (): Map<string, Json> => {
    const { template } = synth();
    const rules = template.findResources('AWS::Events::Rule') as Record<string, Json>;
    return new Map(
      Object.entries(rules).map(([id, rule]) => [id.replace(/^Remediation/, '').replace(/[0-9A-F]{8}$/, ''), rule]),
    );
  };

  test('four EventBridge rules: failed control findings and findings without a compliance result, in ASFF and in OCSF', () => {
    const { stack, template } = synth();
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Json[];
    expect(rules).toHaveLength(4);
    const asff = {
      Severity: { Label: ['HIGH', 'CRITICAL'] },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW', 'NOTIFIED'] },
    };
    const ocsf = {
      severity_id: [4, 5, 6],
      status_id: [1, 2],
      activity_id: [{ 'anything-but': [3] }],
    };
    const patterns = rules.map((r) => r.Properties.EventPattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.securityhub'],
          'detail-type': ['Security Hub Findings - Imported'],
          detail: { findings: { ...asff, Compliance: { Status: ['FAILED'] } } },
        },
        {
          source: ['aws.securityhub'],
          'detail-type': ['Security Hub Findings - Imported'],
          detail: { findings: { ...asff, Compliance: { Status: [{ exists: false }] } } },
        },
        {
          source: ['aws.securityhub'],
          'detail-type': ['Findings Imported V2'],
          detail: { findings: { ...ocsf, compliance: { status_id: [3] } } },
        },
        {
          source: ['aws.securityhub'],
          'detail-type': ['Findings Imported V2'],
          detail: { findings: { ...ocsf, compliance: { status_id: [{ exists: false }] } } },
        },
      ]),
    );
    for (const rule of rules) {
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.Targets).toEqual([
        {
          Arn: arnOf(functionLogicalId(stack, 'remediate')),
          Id: 'Target0',
          DeadLetterConfig: { Arn: arnOf(logicalId(stack, stack.deadLetterQueue)) },
          RetryPolicy: { MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 4 },
        },
      ]);
    }
  });

  test('the fixture events reach exactly the rule meant for them', () => {
    const rules = ruleNames();
    const matching = (event: Json): string[] =>
      [...rules.entries()].filter(([, rule]) => matches(rule.Properties.EventPattern, event)).map(([name]) => name).sort();
    const cases: [string, Json, string[]][] = [
      ['ASFF failed control (S3.8 event)', fixture('s3_8_event.json'), ['FailedControlFindingRule']],
      ['ASFF GuardDuty finding', asffEvent('guardduty_finding.json'), ['ThreatFindingRule']],
      ['OCSF failed control (S3.2, Critical)', ocsfEvent('ocsf/s3_2_event.json'), ['FailedControlFindingV2Rule']],
      ['OCSF already notified (In Progress)', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.status_id = 2)), ['FailedControlFindingV2Rule']],
      ['OCSF GuardDuty Detection Finding', ocsfEvent('ocsf/guardduty_event.json'), ['ThreatFindingV2Rule']],
      ['OCSF Medium (KMS.4)', ocsfEvent('ocsf/kms_4_event.json'), []],
      ['OCSF resolved', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.status_id = 4)), []],
      ['OCSF suppressed', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.status_id = 3)), []],
      ['OCSF closed', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.activity_id = 3)), []],
      ['OCSF passed', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.compliance.status_id = 1)), []],
      ['OCSF warning', ocsfEvent('ocsf/s3_2_event.json', (f) => (f.compliance.status_id = 2)), []],
    ];
    for (const [name, event, expected] of cases) {
      expect([name, matching(event)]).toEqual([name, expected]);
    }
  });

  test('dead-letter queue: SSE, TLS only, EventBridge may send only from the four rules', () => {
    const { stack, template } = synth();
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as Json[];
    expect(policy).toHaveLength(1);
    const statements: Json[] = policy[0].Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    );
    const eventsStatements = statements.filter((s) => s.Principal?.Service === 'events.amazonaws.com');
    expect(eventsStatements).toHaveLength(4);
    for (const s of eventsStatements) {
      expect(s.Action).toBe('sqs:SendMessage');
      expect(s.Resource).toEqual(arnOf(logicalId(stack, stack.deadLetterQueue)));
      expect(Object.keys(s.Condition.ArnEquals)).toEqual(['aws:SourceArn']);
    }
  });

  test('alert topic: KMS, TLS only, e-mail subscription only when AlertEmail is set', () => {
    const { stack, template } = synth();
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(logicalId(stack, stack.key)) });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasParameter('AlertEmail', { Type: 'String', Default: '' });
    template.hasResource('AWS::SNS::Subscription', {
      Condition: 'HasAlertEmail',
      Properties: { Protocol: 'email', Endpoint: { Ref: 'AlertEmail' }, TopicArn: { Ref: logicalId(stack, stack.alertTopic) } },
    });
    template.hasCondition('HasAlertEmail', { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlertEmail' }, ''] }] });
    synth({ alertEmail: 'secops@example.com' }).template.hasParameter('AlertEmail', { Default: 'secops@example.com' });
  });

  test('the key lets CloudWatch Logs (this account and region) and CloudWatch alarms use it; rotation on', () => {
    const { template } = synth();
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'AllowCloudWatchLogs',
              Condition: {
                ArnLike: {
                  'kms:EncryptionContext:aws:logs:arn': {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:*'],
                    ],
                  },
                },
              },
            }),
            Match.objectLike({
              Sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      },
    });
  });

  test('alarms on remediation errors, the dead-letter queue and failed pipeline runs notify the topic', () => {
    const { stack, template } = synth();
    const topic = { Ref: logicalId(stack, stack.alertTopic) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(stack, 'remediate') } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, stack.deadLetterQueue), 'QueueName'] } }],
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      AlarmActions: [topic],
    });
  });
});

test('outputs: bucket and table names, state machine and topic ARNs', () => {
  const { template } = synth();
  const outputs = template.toJSON().Outputs as Record<string, Json>;
  expect(Object.keys(outputs).sort()).toEqual(
    [
      'InputBucketName',
      'OutputBucketName',
      'AccessLogBucketName',
      'LibraryTableName',
      'RequestsTableName',
      'FindingsTableName',
      'StateMachineArn',
      'BatchStateMachineArn',
      'AlertTopicArn',
      'DeadLetterQueueUrl',
    ].sort(),
  );
});

test('every log group in the stack has a retention period and the stack key', () => {
  const { stack, template } = synth();
  const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
  // One per function, the pipeline's and the batch state machine's.
  expect(logGroups).toHaveLength(FUNCTION_IDS.length + 2);
  for (const lg of logGroups) {
    expect(lg.Properties.RetentionInDays).toBe(365);
    expect(lg.Properties.KmsKeyId).toEqual(arnOf(logicalId(stack, stack.key)));
  }
});

test('retained resources keep their logical ids (a new id would mean a new, empty resource)', () => {
  const { template } = synth();
  const retained = Object.entries(template.toJSON().Resources as Record<string, Json>)
    .filter(([, r]) => r.DeletionPolicy === 'Retain')
    .map(([id, r]) => `${r.Type} ${id}`)
    .sort();
  expect(retained).toEqual(
    [
      'AWS::KMS::Key Key961B73FD',
      'AWS::S3::Bucket AccessLogBucketDA470295',
      'AWS::S3::Bucket InputBucket3BF8630A',
      'AWS::S3::Bucket OutputBucket7114EB27',
      'AWS::DynamoDB::Table LibraryTableB9AF18EA',
      'AWS::DynamoDB::Table RequestsTable419243C7',
      'AWS::DynamoDB::Table FindingsTable35CA4E49',
      // Function log groups (CDK retains log groups by default).
      'AWS::Logs::LogGroup TriggerLogGroupFBBB7007',
      'AWS::Logs::LogGroup DocumentationLogGroupAFE78BE5',
      'AWS::Logs::LogGroup AnalysisLogGroupEB02D3A5',
      'AWS::Logs::LogGroup ControlsLogGroup566DC5C4',
      'AWS::Logs::LogGroup IacLogGroupFA66EFBA',
      'AWS::Logs::LogGroup IamLogGroup58ECB3CB',
      'AWS::Logs::LogGroup ReportLogGroupEB47975E',
      'AWS::Logs::LogGroup FinalizeLogGroup1BB545AA',
      'AWS::Logs::LogGroup RecordFailureLogGroupEE5D08B4',
      'AWS::Logs::LogGroup BatchLogGroupFA0EEAC1',
      'AWS::Logs::LogGroup RemediateLogGroup513F3910',
    ].sort(),
  );
});
