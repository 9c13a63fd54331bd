import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { GensecStack } from '../lib/gensec-stack';

/** The repository whose crates/gensec-lambda (Cargo.toml, state-machine/pipeline.asl.json) the stack uses. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const FUNCTIONS_JSON = path.join(REPO_ROOT, 'crates', 'gensec-lambda', 'functions.json');
export const FUNCTIONS_SCHEMA = path.join(REPO_ROOT, 'crates', 'gensec-lambda', 'functions.schema.json');
export const TABLES_JSON = path.join(REPO_ROOT, 'crates', 'gensec-aws', 'tables.json');

/**
 * crates/gensec-lambda/functions.json as plain JSON. Tests read the file themselves (not through
 * the app's loader) and state what each field must become in the template.
 */
export function functionsFile(): Json {
  return JSON.parse(fs.readFileSync(FUNCTIONS_JSON, 'utf8'));
}

/** Function ids (keys of functions.json), in file order. */
export const FUNCTION_IDS: string[] = Object.keys(functionsFile().functions);

/** Each function's binary, by id. */
export function binaries(): Record<string, string> {
  return Object.fromEntries(Object.entries(functionsFile().functions).map(([id, fn]: [string, Json]) => [id, fn.binary]));
}

/** The feature flags of cdk.json, so tests synthesise what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface Synth {
  readonly app: App;
  readonly stack: GensecStack;
  readonly template: Template;
}

/** A stack with bundling off (no cargo needed) and the given extra context. */
export function makeStack(context: Record<string, unknown> = {}): { app: App; stack: GensecStack } {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      [cxapi.BUNDLING_STACKS]: [],
      repoRoot: REPO_ROOT,
      ...context,
    },
  });
  const stack = new GensecStack(app, 'Gensec');
  return { app, stack };
}

const cache = new Map<string, Synth>();

/** Synthesises (once per distinct context) and returns the template. */
export function synth(context: Record<string, unknown> = {}): Synth {
  const key = JSON.stringify(context);
  let result = cache.get(key);
  if (result === undefined) {
    const { app, stack } = makeStack(context);
    result = { app, stack, template: Template.fromStack(stack) };
    cache.set(key, result);
  }
  return result;
}

export function logicalId(stack: GensecStack, element: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(element.node.defaultChild as CfnElement);
}

export function functionLogicalId(stack: GensecStack, key: string): string {
  return logicalId(stack, stack.functions[key]);
}

export function roleLogicalId(stack: GensecStack, key: string): string {
  return logicalId(stack, stack.roles[key]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Condition?: Json;
}

/** Every identity-policy statement attached to the role with this logical id (inline and AWS::IAM::Policy). */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const statements: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Json[]) {
    const roles: Json[] = policy.Properties.Roles ?? [];
    if (roles.some((r) => r.Ref === roleId)) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  const role = template.findResources('AWS::IAM::Role')[roleId] as Json;
  for (const inline of role?.Properties?.Policies ?? []) {
    statements.push(...inline.PolicyDocument.Statement);
  }
  return statements;
}

export function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resources(statement: Statement): Json[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** Actions the role is allowed, each with the resources that allow it. */
export function grants(template: Template, roleId: string): Map<string, Json[]> {
  const out = new Map<string, Json[]>();
  for (const s of roleStatements(template, roleId)) {
    if (s.Effect !== 'Allow') continue;
    for (const a of actions(s)) {
      out.set(a, [...(out.get(a) ?? []), ...resources(s)]);
    }
  }
  return out;
}

/** `{"Fn::GetAtt": [id, "Arn"]}` */
export function arnOf(id: string): Json {
  return { 'Fn::GetAtt': [id, 'Arn'] };
}

/** `<arn of id>/<suffix>` as CDK renders it. */
export function arnWithSuffix(id: string, suffix: string): Json {
  return { 'Fn::Join': ['', [arnOf(id), suffix]] };
}
