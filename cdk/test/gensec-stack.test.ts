import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_BEDROCK_MODEL_ID, bedrockModelArns } from '../lib/config';
import { BINARIES, DEFINITION_SUBSTITUTIONS, FunctionKey, GensecStack } from '../lib/gensec-stack';
import {
  Json,
  REPO_ROOT,
  Statement,
  actions,
  arnOf,
  arnWithSuffix,
  functionLogicalId,
  grants,
  logicalId,
  makeStack,
  resources,
  roleLogicalId,
  roleStatements,
  synth,
} from './helpers';

const FUNCTION_KEYS = Object.keys(BINARIES) as FunctionKey[];

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
  const TABLES_JSON = path.join(REPO_ROOT, 'crates', 'gensec-aws', 'tables.json');
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
    const logGroupId = sm.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as Json;
    expect(logGroup.Properties.RetentionInDays).toBe(30);
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
      RecordFailureFunctionArn: arnOf(functionLogicalId(stack, 'recordFailure')),
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
    expect([...used].sort()).toEqual(Object.keys(DEFINITION_SUBSTITUTIONS).sort());
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
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, DEFINITION_SUBSTITUTIONS[substitution])] as Json;
      expect([name, fn.Properties.Timeout < state.TimeoutSeconds]).toEqual([name, true]);
      checked.push(substitution);
    }
    // The six stages and finalize all carry a task timeout (record-failure runs without one).
    expect(checked.sort()).toEqual(Object.keys(DEFINITION_SUBSTITUTIONS).filter((k) => k !== 'RecordFailureFunctionArn').sort());
  });

  test('its role may invoke exactly the eight pipeline functions, unqualified', () => {
    const { stack, template } = synth();
    const role = logicalId(stack, stack.stateMachine.role);
    const invoke = grants(template, role).get('lambda:InvokeFunction') ?? [];
    const expected = Object.values(DEFINITION_SUBSTITUTIONS).map((key) => arnOf(functionLogicalId(stack, key)));
    expect(new Set(invoke)).toEqual(new Set(expected));
    expect(invoke).toHaveLength(8);
  });
});

describe('functions', () => {
  const expectedEnv = (stack: GensecStack, key: FunctionKey, model = DEFAULT_BEDROCK_MODEL_ID): Json => {
    const ref = (c: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(stack, c) });
    const output = { GENSEC_OUTPUT_BUCKET: ref(stack.outputBucket) };
    const library = { GENSEC_LIBRARY_TABLE: ref(stack.libraryTable) };
    const requests = { GENSEC_REQUESTS_TABLE: ref(stack.requestsTable) };
    const bedrock = model === '' ? {} : { GENSEC_BEDROCK_MODEL_ID: model };
    const stage = { ...output, ...library, ...requests };
    const env: Record<FunctionKey, Json> = {
      trigger: {
        GENSEC_INPUT_BUCKET: ref(stack.inputBucket),
        ...output,
        ...requests,
        GENSEC_STATE_MACHINE_ARN: ref(stack.stateMachine),
      },
      documentation: stage,
      analysis: { ...stage, ...bedrock },
      controls: stage,
      iac: stage,
      iam: stage,
      report: { ...stage, ...bedrock },
      finalize: { ...output, ...requests },
      recordFailure: requests,
      remediate: {
        GENSEC_FINDINGS_TABLE: ref(stack.findingsTable),
        GENSEC_TOPIC_ARN: ref(stack.alertTopic),
        GENSEC_MIN_SEVERITY: 'HIGH',
        GENSEC_FINDING_TTL_DAYS: '90',
        GENSEC_SET_NOTIFIED: 'false',
        ...bedrock,
      },
    };
    return { ...env[key], RUST_LOG: 'info' };
  };

  test('ten Rust functions: ARM64, provided.al2023, bootstrap, X-Ray active, own log group', () => {
    const { stack, template } = synth();
    const all = template.findResources('AWS::Lambda::Function');
    for (const key of FUNCTION_KEYS) {
      const fn = all[functionLogicalId(stack, key)] as Json;
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'provided.al2023',
        Handler: 'bootstrap',
        TracingConfig: { Mode: 'Active' },
        Role: arnOf(roleLogicalId(stack, key)),
        KmsKeyArn: arnOf(logicalId(stack, stack.key)),
      });
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as Json;
      expect(logGroup.Properties.RetentionInDays).toBe(30);
      expect(logGroup.Properties.KmsKeyId).toEqual(arnOf(logicalId(stack, stack.key)));
    }
    // The other function is CDK's own S3 notification custom resource handler.
    expect(Object.keys(all)).toHaveLength(FUNCTION_KEYS.length + 1);
  });

  test('each function has its own role, without managed policies', () => {
    const { stack, template } = synth();
    const roleIds = FUNCTION_KEYS.map((key) => roleLogicalId(stack, key));
    expect(new Set(roleIds).size).toBe(FUNCTION_KEYS.length);
    for (const id of roleIds) {
      const role = template.findResources('AWS::IAM::Role')[id] as Json;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });

  test('memory and timeout', () => {
    const { stack, template } = synth();
    const expected: Record<FunctionKey, [number, number]> = {
      trigger: [256, 30],
      documentation: [1024, 300],
      analysis: [1024, 300],
      controls: [1024, 300],
      iac: [1024, 300],
      iam: [1024, 300],
      report: [1024, 300],
      finalize: [512, 90],
      recordFailure: [256, 30],
      remediate: [512, 60],
    };
    for (const key of FUNCTION_KEYS) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, key)] as Json;
      expect([fn.Properties.MemorySize, fn.Properties.Timeout]).toEqual(expected[key]);
    }
  });

  test('each function gets exactly the environment variables it reads', () => {
    const { stack, template } = synth();
    for (const key of FUNCTION_KEYS) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, key)] as Json;
      expect([key, fn.Properties.Environment.Variables]).toEqual([key, expectedEnv(stack, key)]);
    }
  });

  test('context switches reach the remediation function', () => {
    const { stack, template } = synth({ setNotified: 'true', minSeverity: 'critical', findingTtlDays: '30' });
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, 'remediate')] as Json;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      GENSEC_SET_NOTIFIED: 'true',
      GENSEC_MIN_SEVERITY: 'CRITICAL',
      GENSEC_FINDING_TTL_DAYS: '30',
    });
    expect(() => makeStack({ minSeverity: 'SEVERE' })).toThrow(/minSeverity/);
    expect(() => makeStack({ setNotified: 'maybe' })).toThrow(/setNotified/);
  });

  test('trigger and remediation: failed async events go to the dead-letter queue', () => {
    const { stack, template } = synth();
    const dlq = arnOf(logicalId(stack, stack.deadLetterQueue));
    for (const key of ['trigger', 'remediate'] as FunctionKey[]) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, key)] as Json;
      expect(fn.Properties.DeadLetterConfig).toEqual({ TargetArn: dlq });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionLogicalId(stack, key) },
        MaximumRetryAttempts: 2,
        Qualifier: '$LATEST',
      });
    }
  });

  test('prebuilt mode uses <dir>/<binary> as each function\'s code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-prebuilt-'));
    try {
      for (const binary of Object.values(BINARIES)) {
        fs.mkdirSync(path.join(dir, binary));
        fs.writeFileSync(path.join(dir, binary, 'bootstrap'), `#!/bin/sh\necho ${binary}\n`);
      }
      const { app, stack } = makeStack({ prebuilt: dir });
      const template = Template.fromStack(stack).toJSON();
      const assembly = app.synth();
      const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Gensec.assets.json'), 'utf8')) as Json;
      for (const key of FUNCTION_KEYS) {
        const fn = template.Resources[functionLogicalId(stack, key)];
        expect(fn.Properties).toMatchObject({ Runtime: 'provided.al2023', Handler: 'bootstrap', Architectures: ['arm64'] });
        // The function's code is the asset staged from <dir>/<its binary>.
        const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
        const source = assets.files[hash].source;
        expect(source.packaging).toBe('zip');
        const bootstrap = fs.readFileSync(path.join(assembly.directory, source.path, 'bootstrap'), 'utf8');
        expect(bootstrap).toContain(`echo ${BINARIES[key]}\n`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('prebuilt mode names the missing artefact', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-prebuilt-'));
    try {
      expect(() => makeStack({ prebuilt: dir })).toThrow(/gensec-.*\/bootstrap not found: build the Lambdas first/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IAM', () => {
  /**
   * Actions AWS authorises only on Resource "*" (no resource-level permissions), and who may hold them.
   * Anything else with a "*" resource fails the test.
   */
  const STAR_EXCEPTIONS: Record<string, string> = {
    'xray:PutTraceSegments': 'X-Ray tracing (Lambda active tracing, Step Functions tracing)',
    'xray:PutTelemetryRecords': 'X-Ray tracing',
    'xray:GetSamplingRules': 'X-Ray tracing (Step Functions)',
    'xray:GetSamplingTargets': 'X-Ray tracing (Step Functions)',
    'logs:CreateLogDelivery': 'Step Functions logging (vended logs)',
    'logs:GetLogDelivery': 'Step Functions logging',
    'logs:UpdateLogDelivery': 'Step Functions logging',
    'logs:DeleteLogDelivery': 'Step Functions logging',
    'logs:ListLogDeliveries': 'Step Functions logging',
    'logs:PutResourcePolicy': 'Step Functions logging',
    'logs:DescribeResourcePolicies': 'Step Functions logging',
    'logs:DescribeLogGroups': 'Step Functions logging',
  };

  const allStatements = (template: Json): { where: string; statement: Statement }[] => {
    const out: { where: string; statement: Statement }[] = [];
    for (const [id, resource] of Object.entries(template.Resources) as [string, Json][]) {
      if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
        for (const statement of resource.Properties.PolicyDocument.Statement) out.push({ where: id, statement });
      }
      if (resource.Type === 'AWS::IAM::Role') {
        for (const inline of resource.Properties.Policies ?? []) {
          for (const statement of inline.PolicyDocument.Statement) out.push({ where: id, statement });
        }
      }
    }
    return out;
  };

  test.each([
    ['default', {}],
    ['no Bedrock', { bedrockModelId: '' }],
    ['inference profile, set-notified', { bedrockModelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', setNotified: 'true' }],
  ])('no statement grants Resource "*" except the listed AWS-forced actions (%s)', (_name, context) => {
    const template = synth(context).template.toJSON();
    const statements = allStatements(template);
    expect(statements.length).toBeGreaterThan(30);
    for (const { where, statement } of statements) {
      expect(statement.Effect).toBe('Allow');
      if (resources(statement).includes('*')) {
        for (const action of actions(statement)) {
          expect([where, action, STAR_EXCEPTIONS[action] !== undefined]).toEqual([where, action, true]);
        }
      }
      for (const action of actions(statement)) {
        // No action wildcards either (e.g. kms:GenerateDataKey*, s3:*).
        expect(action).not.toMatch(/\*/);
      }
    }
  });

  test('no identity policy grants another account or a whole service', () => {
    const template = synth().template.toJSON();
    for (const { statement } of allStatements(template)) {
      for (const r of resources(statement)) {
        if (typeof r === 'string' && r !== '*') {
          // Literal ARNs are only the Bedrock model ARNs.
          expect(r).toMatch(/^arn:aws:bedrock:/);
        }
      }
    }
  });

  // The permission table of cdk/README.md, as a test: action -> resources, per function.
  test('per-function permissions are exactly the contract', () => {
    const { stack, template } = synth();
    const id = (c: { node: { defaultChild?: unknown } }) => logicalId(stack, c);
    const key = arnOf(id(stack.key));
    const outputObjects = arnWithSuffix(id(stack.outputBucket), '/*');
    const requests = [arnOf(id(stack.requestsTable)), arnWithSuffix(id(stack.requestsTable), '/index/recent-index')];
    const library = [arnOf(id(stack.libraryTable)), arnWithSuffix(id(stack.libraryTable), '/index/service-index')];
    const model = bedrockModelArns(stack, DEFAULT_BEDROCK_MODEL_ID).map((a) => stack.resolve(a));
    const rw = [
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
    const base: Record<string, Json[]> = {
      'kms:Decrypt': [key],
      'kms:Encrypt': [key],
      'kms:GenerateDataKey': [key],
      'kms:DescribeKey': [key],
      'xray:PutTraceSegments': ['*'],
      'xray:PutTelemetryRecords': ['*'],
    };
    const merge = (...parts: Record<string, Json[]>[]): Record<string, Json[]> => {
      const out: Record<string, Json[]> = {};
      for (const part of parts) for (const [a, r] of Object.entries(part)) out[a] = [...(out[a] ?? []), ...r];
      return out;
    };
    const on = (acts: string[], res: Json[]) => Object.fromEntries(acts.map((a) => [a, res]));
    const stageBase = merge(
      on(['s3:GetObject', 's3:PutObject'], [outputObjects]),
      on(['s3:ListBucket'], [arnOf(id(stack.outputBucket))]),
      on(rw, requests),
    );
    const stageLibrary = on([...rw, 'dynamodb:Scan'], library);
    const expected: Record<FunctionKey, Record<string, Json[]>> = {
      trigger: merge(
        on(['s3:GetObject'], [
          arnWithSuffix(id(stack.inputBucket), '/security-profile/*'),
          arnWithSuffix(id(stack.inputBucket), '/service-request/*'),
        ]),
        on(['s3:ListBucket'], [arnOf(id(stack.inputBucket))]),
        on(['s3:PutObject'], [outputObjects]),
        on(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'], requests),
        on(['states:StartExecution'], [{ Ref: id(stack.stateMachine) }]),
        on(['sqs:SendMessage'], [arnOf(id(stack.deadLetterQueue))]),
      ),
      documentation: merge(stageBase, stageLibrary),
      analysis: merge(stageBase, stageLibrary, on(['bedrock:InvokeModel'], model)),
      controls: merge(stageBase, stageLibrary),
      iac: merge(stageBase, stageLibrary),
      iam: merge(stageBase, stageLibrary),
      report: merge(stageBase, stageLibrary, on(['bedrock:InvokeModel'], model)),
      finalize: stageBase,
      recordFailure: on(rw, requests),
      remediate: merge(
        on(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [arnOf(id(stack.findingsTable))]),
        on(['sns:Publish'], [{ Ref: id(stack.alertTopic) }]),
        on(['sqs:SendMessage'], [arnOf(id(stack.deadLetterQueue))]),
        on(['bedrock:InvokeModel'], model),
      ),
    };
    for (const k of FUNCTION_KEYS) {
      const actual = grants(template, roleLogicalId(stack, k));
      const logGroup = arnOf(logicalId(stack, stack.functions[k].logGroup));
      const want = merge(base, on(['logs:CreateLogStream', 'logs:PutLogEvents'], [logGroup]), expected[k]);
      const normalise = (m: Map<string, Json[]> | Record<string, Json[]>) =>
        Object.fromEntries(
          [...(m instanceof Map ? m.entries() : Object.entries(m))]
            .map(([a, r]) => [a, [...new Set(r.map((x: Json) => JSON.stringify(x)))].sort()] as const)
            .sort(([a], [b]) => a.localeCompare(b)),
        );
      expect([k, normalise(actual)]).toEqual([k, normalise(want)]);
    }
  });

  test('trigger lists the input bucket only under security-profile/', () => {
    const { stack, template } = synth();
    const list = roleStatements(template, roleLogicalId(stack, 'trigger')).filter((s) => actions(s).includes('s3:ListBucket'));
    expect(list).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: arnOf(logicalId(stack, stack.inputBucket)),
        Condition: { StringLike: { 's3:prefix': ['security-profile/*'] } },
      },
    ]);
  });

  test('Bedrock: no permission and no model variable when bedrockModelId is empty', () => {
    const { template } = synth({ bedrockModelId: '' });
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/bedrock/i);
    expect(json).not.toContain('GENSEC_BEDROCK_MODEL_ID');
  });

  test('Bedrock: an inference profile grants the profile and the model in the profile\'s regions', () => {
    const profile = 'eu.anthropic.claude-3-5-haiku-20241022-v1:0';
    const { stack, template } = synth({ bedrockModelId: profile });
    const invoke = grants(template, roleLogicalId(stack, 'analysis')).get('bedrock:InvokeModel');
    expect(invoke).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':bedrock:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':inference-profile/eu.anthropic.claude-3-5-haiku-20241022-v1:0',
          ],
        ],
      },
      {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0']],
      },
    ]);
    for (const k of ['trigger', 'documentation', 'controls', 'iac', 'iam', 'finalize', 'recordFailure'] as FunctionKey[]) {
      expect(grants(template, roleLogicalId(stack, k)).has('bedrock:InvokeModel')).toBe(false);
    }
  });

  test('Security Hub BatchUpdateFindings only when setNotified is on, on the default hub', () => {
    const off = synth();
    expect(grants(off.template, roleLogicalId(off.stack, 'remediate')).has('securityhub:BatchUpdateFindings')).toBe(false);
    const on = synth({ setNotified: 'true' });
    expect(grants(on.template, roleLogicalId(on.stack, 'remediate')).get('securityhub:BatchUpdateFindings')).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':hub/default'],
        ],
      },
    ]);
  });
});

describe('remediation', () => {
  test('two EventBridge rules: failed control findings and findings without Compliance', () => {
    const { stack, template } = synth();
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Json[];
    expect(rules).toHaveLength(2);
    const finding = {
      Severity: { Label: ['HIGH', 'CRITICAL'] },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW', 'NOTIFIED'] },
    };
    const patterns = rules.map((r) => r.Properties.EventPattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.securityhub'],
          'detail-type': ['Security Hub Findings - Imported'],
          detail: { findings: { ...finding, Compliance: { Status: ['FAILED'] } } },
        },
        {
          source: ['aws.securityhub'],
          'detail-type': ['Security Hub Findings - Imported'],
          detail: { findings: { ...finding, Compliance: { Status: [{ exists: false }] } } },
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

  test('dead-letter queue: SSE, TLS only, EventBridge may send only from the two rules', () => {
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
    expect(eventsStatements).toHaveLength(2);
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
      'AlertTopicArn',
      'DeadLetterQueueUrl',
    ].sort(),
  );
});

test('every log group in the stack has a retention period and the stack key', () => {
  const { stack, template } = synth();
  const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
  expect(logGroups).toHaveLength(FUNCTION_KEYS.length + 1);
  for (const lg of logGroups) {
    expect(lg.Properties.RetentionInDays).toBe(30);
    expect(lg.Properties.KmsKeyId).toEqual(arnOf(logicalId(stack, stack.key)));
  }
});
