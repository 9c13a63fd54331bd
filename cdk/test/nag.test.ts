import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Json, makeStack } from './helpers';

/** cdk-nag's AWS Solutions pack over the whole stack, in each configuration that changes the IAM policies. */
describe.each([
  ['default', {}],
  ['no Bedrock', { bedrockModelId: '' }],
  ['inference profile + set-notified', { bedrockModelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', setNotified: 'true' }],
])('cdk-nag AwsSolutions (%s)', (_name, context) => {
  // With this flag (cdk.json sets it) annotations go to the policy validation report instead of the
  // construct metadata that Annotations.fromStack reads; the checks are the same either way.
  const { app, stack } = makeStack({ ...context, '@aws-cdk/core:annotationsInValidationReport': false });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const annotations = Annotations.fromStack(stack);

  test('no unsuppressed errors', () => {
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data)}`)).toEqual([]);
  });

  test('no unsuppressed warnings', () => {
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
  });

  test('every suppression has a specific reason; wildcard and managed-policy ones name what they cover', () => {
    const template = Template.fromStack(stack).toJSON();
    const suppressions: { resource: string; rule: Json }[] = [];
    for (const rule of template.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
      suppressions.push({ resource: '(stack)', rule });
    }
    for (const [id, resource] of Object.entries(template.Resources) as [string, Json][]) {
      for (const rule of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
        suppressions.push({ resource: id, rule });
      }
    }
    expect(suppressions.length).toBeGreaterThan(0);
    for (const { resource, rule } of suppressions) {
      expect([resource, rule.id, rule.reason.length >= 60]).toEqual([resource, rule.id, true]);
      if (rule.id === 'AwsSolutions-IAM5' || rule.id === 'AwsSolutions-IAM4') {
        expect([resource, rule.id, Array.isArray(rule.applies_to) && rule.applies_to.length > 0]).toEqual([
          resource,
          rule.id,
          true,
        ]);
      }
    }
    // Only these rules are suppressed anywhere.
    expect([...new Set(suppressions.map((s) => s.rule.id))].sort()).toEqual([
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
    ]);
  });
});
