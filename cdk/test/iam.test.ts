import { expectedGrants } from './expected';
import {
  FUNCTION_IDS,
  Json,
  Statement,
  actions,
  arnOf,
  functionsFile,
  grants,
  logicalId,
  resources,
  roleLogicalId,
  roleStatements,
  synth,
} from './helpers';

/** The configurations that change the IAM policies. */
const CONFIGURATIONS: [string, Record<string, string>][] = [
  ['default', {}],
  ['no Bedrock', { bedrockModelId: '' }],
  ['inference profile, set-notified', { bedrockModelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', setNotified: 'true' }],
];

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

  test.each(CONFIGURATIONS)('no statement grants Resource "*" except the listed AWS-forced actions (%s)', (_name, context) => {
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

  // The definition as a test: action -> resources, per function, nothing more.
  test.each(CONFIGURATIONS)('each role grants exactly what functions.json lists (%s)', (_name, context) => {
    const { stack, template } = synth(context);
    const normalise = (m: Map<string, Json[]> | Record<string, Json[]>) =>
      Object.fromEntries(
        [...(m instanceof Map ? m.entries() : Object.entries(m))]
          .map(([a, r]) => [a, [...new Set(r.map((x: Json) => JSON.stringify(x)))].sort()] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    for (const id of FUNCTION_IDS) {
      expect([id, normalise(grants(template, roleLogicalId(stack, id)))]).toEqual([id, normalise(expectedGrants(stack, id))]);
    }
  });

  test('s3:ListBucket is limited to the prefixes the definition gives (none: the whole bucket)', () => {
    const { stack, template } = synth();
    const file = functionsFile();
    let checked = 0;
    for (const id of FUNCTION_IDS) {
      const listing = roleStatements(template, roleLogicalId(stack, id)).filter((s) => actions(s).includes('s3:ListBucket'));
      const touches = (file.functions[id].touches.buckets ?? []).filter((b: Json) => b.actions.includes('s3:ListBucket'));
      expect([id, listing.length]).toEqual([id, touches.length]);
      for (const touch of touches) {
        const prefixes: string[] | undefined = touch.prefixes;
        const statement = listing.find((s) => JSON.stringify(s.Condition) === JSON.stringify(
          prefixes === undefined ? undefined : { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
        ));
        expect([id, touch.bucket, statement !== undefined]).toEqual([id, touch.bucket, true]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  test('whatever functions.json says: nothing writes or deletes uploads, only publishing and failure handling delete outputs, only the trigger starts runs', () => {
    const { stack, template } = synth();
    const input = logicalId(stack, stack.inputBucket);
    // finalize removes the attempt a new publication replaces; record-failure
    // removes what a failed attempt wrote. Nothing else deletes anything.
    const deleters = ['finalize', 'record-failure'];
    for (const id of FUNCTION_IDS) {
      const granted = grants(template, roleLogicalId(stack, id));
      const onInput = (action: string) => JSON.stringify(granted.get(action) ?? []).includes(input);
      const handler = functionsFile().functions[id].handler;
      expect([id, onInput('s3:PutObject'), onInput('s3:DeleteObject'), granted.has('s3:DeleteObject')])
        .toEqual([id, false, false, deleters.includes(handler)]);
      expect([id, granted.has('states:StartExecution')]).toEqual([id, functionsFile().functions[id].handler === 'trigger']);
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
    // Only the functions whose definition touches the model.
    const file = functionsFile();
    for (const id of FUNCTION_IDS) {
      expect([id, grants(template, roleLogicalId(stack, id)).has('bedrock:InvokeModel')]).toEqual([
        id,
        file.functions[id].touches.model !== undefined,
      ]);
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

