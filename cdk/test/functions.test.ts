import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { expectedEnvironment } from './expected';
import {
  FUNCTIONS_SCHEMA,
  FUNCTION_IDS,
  Json,
  TABLES_JSON,
  arnOf,
  binaries,
  functionLogicalId,
  functionsFile,
  logicalId,
  makeStack,
  roleLogicalId,
  synth,
} from './helpers';

/** The configurations that change what the functions get. */
const CONFIGURATIONS: [string, Record<string, string>][] = [
  ['default', {}],
  ['no Bedrock', { bedrockModelId: '' }],
  ['inference profile, set-notified', { bedrockModelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', setNotified: 'true' }],
];

describe('functions', () => {
  test('every function of functions.json: ARM64, provided.al2023, bootstrap, X-Ray active, own log group', () => {
    const { stack, template } = synth();
    const all = template.findResources('AWS::Lambda::Function');
    expect(FUNCTION_IDS).toHaveLength(11);
    for (const id of FUNCTION_IDS) {
      const fn = all[functionLogicalId(stack, id)] as Json;
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'provided.al2023',
        Handler: 'bootstrap',
        TracingConfig: { Mode: 'Active' },
        Role: arnOf(roleLogicalId(stack, id)),
        KmsKeyArn: arnOf(logicalId(stack, stack.key)),
      });
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as Json;
      expect(logGroup.Properties.RetentionInDays).toBe(365);
      expect(logGroup.Properties.KmsKeyId).toEqual(arnOf(logicalId(stack, stack.key)));
      expect(logGroup.Properties.DeletionProtectionEnabled).toBe(true);
    }
    // The other function is CDK's own S3 notification custom resource handler.
    expect(Object.keys(all)).toHaveLength(FUNCTION_IDS.length + 1);
  });

  test('each function has its own role, without managed policies', () => {
    const { stack, template } = synth();
    const roleIds = FUNCTION_IDS.map((id) => roleLogicalId(stack, id));
    expect(new Set(roleIds).size).toBe(FUNCTION_IDS.length);
    for (const id of roleIds) {
      const role = template.findResources('AWS::IAM::Role')[id] as Json;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });

  test('memory, timeout and description are the definition\'s', () => {
    const { stack, template } = synth();
    const file = functionsFile();
    for (const id of FUNCTION_IDS) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, id)] as Json;
      const def = file.functions[id];
      expect([id, fn.Properties.MemorySize, fn.Properties.Timeout, fn.Properties.Description]).toEqual([
        id,
        def.memory_mb,
        def.timeout_seconds,
        def.description,
      ]);
    }
  });

  test.each(CONFIGURATIONS)('each function gets exactly the variables of its definition that the stack sets (%s)', (_name, context) => {
    const { stack, template } = synth(context);
    for (const id of FUNCTION_IDS) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, id)] as Json;
      expect([id, fn.Properties.Environment.Variables]).toEqual([id, expectedEnvironment(stack, id)]);
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

  test('asynchronously invoked functions (trigger, remediation): failed events go to the dead-letter queue', () => {
    const { stack, template } = synth();
    const dlq = arnOf(logicalId(stack, stack.deadLetterQueue));
    const file = functionsFile();
    const withQueue = FUNCTION_IDS.filter((id) => file.functions[id].dead_letter_queue !== undefined);
    expect(withQueue.sort()).toEqual(['remediate', 'trigger']);
    for (const id of FUNCTION_IDS) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, id)] as Json;
      const queue = file.functions[id].dead_letter_queue;
      expect([id, fn.Properties.DeadLetterConfig]).toEqual([id, queue === undefined ? undefined : { TargetArn: dlq }]);
      if (queue !== undefined) {
        template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: functionLogicalId(stack, id) },
          MaximumRetryAttempts: queue.retry_attempts,
          MaximumEventAgeInSeconds: queue.max_event_age_hours * 3600,
          Qualifier: '$LATEST',
        });
      }
    }
  });

  test('prebuilt mode uses <dir>/<binary> as each function\'s code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-prebuilt-'));
    try {
      const byId = binaries();
      for (const binary of Object.values(byId)) {
        fs.mkdirSync(path.join(dir, binary));
        fs.writeFileSync(path.join(dir, binary, 'bootstrap'), `#!/bin/sh\necho ${binary}\n`);
      }
      const { app, stack } = makeStack({ prebuilt: dir });
      const template = Template.fromStack(stack).toJSON();
      const assembly = app.synth();
      const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Gensec.assets.json'), 'utf8')) as Json;
      for (const id of FUNCTION_IDS) {
        const fn = template.Resources[functionLogicalId(stack, id)];
        expect(fn.Properties).toMatchObject({ Runtime: 'provided.al2023', Handler: 'bootstrap', Architectures: ['arm64'] });
        // The function's code is the asset staged from <dir>/<its binary>.
        const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
        const source = assets.files[hash].source;
        expect(source.packaging).toBe('zip');
        const bootstrap = fs.readFileSync(path.join(assembly.directory, source.path, 'bootstrap'), 'utf8');
        expect(bootstrap).toContain(`echo ${byId[id]}\n`);
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

describe('functions.json', () => {
  /** A change to the file, and what the synth must say about it. */
  const cases: [string, (file: Json) => void, RegExp][] = [
    ['a field the schema does not know', (f) => (f.functions.trigger.memory = 512), /\/functions\/trigger must NOT have additional properties/],
    ['a memory size that is not a number', (f) => (f.functions.iam.memory_mb = '1024'), /\/functions\/iam\/memory_mb must be integer/],
    ['a misspelt action', (f) => (f.functions.finalize.touches.buckets[0].actions[0] = 's3:GetObjects'), /buckets\/0\/actions\/0 must be equal to one of the allowed values/],
    ['a variable missing from the catalogue', (f) => f.functions.iac.environment.push('GENSEC_NOPE'), /functions\.iac: variable GENSEC_NOPE is not in the environment catalogue/],
    ['a catalogued variable no function reads', (f) => (f.environment.GENSEC_UNUSED = { means: 'x', required: false, constant_in: 'gensec_lambda::env' }), /environment\.GENSEC_UNUSED: no function reads it/],
    ['a value naming no bucket', (f) => (f.environment.GENSEC_INPUT_BUCKET.value = 'bucket:logs'), /GENSEC_INPUT_BUCKET: value 'bucket:logs' names no bucket/],
    ['a table tables.json does not define', (f) => (f.functions.record_failure.touches.tables[0].table = 'cache'), /functions\.record_failure: table 'cache' is not in tables\.json/],
    ['a grant on a table whose name the function is not told', (f) => f.functions.controls.environment.splice(1, 1), /functions\.controls: its role touches \[table:library\] but no variable it reads names them/],
    ['two trigger functions', (f) => (f.functions.finalize.handler = 'trigger'), /handler trigger is used twice/],
    ['a pipeline function without its ASL substitution', (f) => delete f.functions.iam.asl_substitution, /functions\.iam: an asl_substitution is needed by, and only by/],
  ];

  test.each(cases)('%s stops the synth', (_what, change, error) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-functions-'));
    try {
      const file = functionsFile();
      change(file);
      fs.mkdirSync(path.join(root, 'crates', 'gensec-aws'), { recursive: true });
      fs.mkdirSync(path.join(root, 'crates', 'gensec-lambda'), { recursive: true });
      fs.copyFileSync(TABLES_JSON, path.join(root, 'crates', 'gensec-aws', 'tables.json'));
      fs.copyFileSync(FUNCTIONS_SCHEMA, path.join(root, 'crates', 'gensec-lambda', 'functions.schema.json'));
      fs.writeFileSync(path.join(root, 'crates', 'gensec-lambda', 'functions.json'), JSON.stringify(file));
      expect(() => makeStack({ repoRoot: root })).toThrow(error);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
