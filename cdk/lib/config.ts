import * as path from 'node:path';
import { Aws, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Default Bedrock model; `-c bedrockModelId=` (empty) turns the LLM off and grants no Bedrock access. */
export const DEFAULT_BEDROCK_MODEL_ID = 'anthropic.claude-3-5-haiku-20241022-v1:0';

/**
 * Geographic prefixes of cross-region inference profile ids (`us.anthropic...`).
 * A model id with one of these is an inference profile, not a foundation model.
 */
export const INFERENCE_PROFILE_PREFIXES = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'global'];

/** Child executions a batch runs at once unless `-c batchMaxConcurrency=` says otherwise. */
export const DEFAULT_BATCH_MAX_CONCURRENCY = 40;

/** Where the Lambda code comes from. */
export type LambdaCodeSource =
  /** cargo-lambda-cdk's RustFunction builds each binary with `cargo lambda build` at synth time (workspace manifest). */
  | { readonly kind: 'cargo-lambda'; readonly manifestPath: string }
  /** Binaries already built by `cargo lambda build --release --arm64`: `<dir>/<binary>/bootstrap`. */
  | { readonly kind: 'prebuilt'; readonly dir: string };

/** Everything the stack takes from CDK context (`-c key=value` or cdk.json). */
export interface GensecConfig {
  /** Repository root: holds Cargo.toml, crates/gensec-lambda and crates/gensec-aws. */
  readonly repoRoot: string;
  readonly lambdaCode: LambdaCodeSource;
  /** Path of the state machine definition (Amazon States Language, with `${...}` substitutions). */
  readonly definitionPath: string;
  /** Path of the batch state machine definition (a Distributed Map over the pipeline). */
  readonly batchDefinitionPath: string;
  /** Child executions the batch's Distributed Map runs at once (context batchMaxConcurrency, default 40). */
  readonly batchMaxConcurrency: number;
  /** Path of the DynamoDB key schemas (`crates/gensec-aws/tables.json`). */
  readonly tablesPath: string;
  /** Path of the Lambda function definitions (`crates/gensec-lambda/functions.json`). */
  readonly functionsPath: string;
  /** Path of their JSON Schema (`crates/gensec-lambda/functions.schema.json`). */
  readonly functionsSchemaPath: string;
  /** Bedrock model or inference profile id; empty = no LLM and no Bedrock permission. */
  readonly bedrockModelId: string;
  /** Remediation: mark notified findings NOTIFIED in Security Hub (grants securityhub:BatchUpdateFindings). */
  readonly setNotified: boolean;
  /** Remediation: lowest severity label that is e-mailed. */
  readonly minSeverity: string;
  /** Remediation: how long a sent finding is remembered (dedupe), in days. */
  readonly findingTtlDays: number;
  /** Default of the AlertEmail parameter (empty = no e-mail subscription unless given at deploy). */
  readonly alertEmail: string;
}

function contextString(scope: Construct, key: string): string | undefined {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw new Error(`context value '${key}' must be a string, got ${JSON.stringify(value)}`);
}

function contextBool(scope: Construct, key: string, fallback: boolean): boolean {
  const value = contextString(scope, key);
  if (value === undefined || value === '') {
    return fallback;
  }
  if (/^(true|yes|1|on)$/i.test(value)) {
    return true;
  }
  if (/^(false|no|0|off)$/i.test(value)) {
    return false;
  }
  throw new Error(`context value '${key}' must be true or false, got '${value}'`);
}

/** Reads the stack's configuration from context, with the documented defaults. */
export function configFromContext(scope: Construct): GensecConfig {
  const repoRoot = path.resolve(contextString(scope, 'repoRoot') ?? path.join(__dirname, '..', '..'));
  const prebuilt = contextString(scope, 'prebuilt');
  const lambdaCode: LambdaCodeSource =
    prebuilt !== undefined && prebuilt !== ''
      ? { kind: 'prebuilt', dir: path.resolve(prebuilt) }
      : // The workspace manifest: cargo-lambda builds `--bin <binary>` of the gensec-lambda package, and
        // its Docker fallback mounts the directory of this manifest, which must hold the whole workspace.
        { kind: 'cargo-lambda', manifestPath: path.join(repoRoot, 'Cargo.toml') };

  const minSeverity = (contextString(scope, 'minSeverity') ?? 'HIGH').toUpperCase();
  if (!['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(minSeverity)) {
    throw new Error(`context value 'minSeverity' must be a Security Hub severity label, got '${minSeverity}'`);
  }
  const ttl = Number(contextString(scope, 'findingTtlDays') ?? '90');
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new Error(`context value 'findingTtlDays' must be a positive whole number of days`);
  }
  const batchMaxConcurrency = Number(contextString(scope, 'batchMaxConcurrency') ?? String(DEFAULT_BATCH_MAX_CONCURRENCY));
  if (!Number.isInteger(batchMaxConcurrency) || batchMaxConcurrency < 1 || batchMaxConcurrency > 10000) {
    throw new Error(`context value 'batchMaxConcurrency' must be a whole number from 1 to 10000 (a Distributed Map's limit)`);
  }
  return {
    repoRoot,
    lambdaCode,
    definitionPath: path.join(repoRoot, 'crates', 'gensec-lambda', 'state-machine', 'pipeline.asl.json'),
    batchDefinitionPath: path.join(repoRoot, 'crates', 'gensec-lambda', 'state-machine', 'batch.asl.json'),
    batchMaxConcurrency,
    tablesPath: path.join(repoRoot, 'crates', 'gensec-aws', 'tables.json'),
    functionsPath: path.join(repoRoot, 'crates', 'gensec-lambda', 'functions.json'),
    functionsSchemaPath: path.join(repoRoot, 'crates', 'gensec-lambda', 'functions.schema.json'),
    bedrockModelId: (contextString(scope, 'bedrockModelId') ?? DEFAULT_BEDROCK_MODEL_ID).trim(),
    setNotified: contextBool(scope, 'setNotified', false),
    minSeverity,
    findingTtlDays: ttl,
    alertEmail: contextString(scope, 'alertEmail') ?? '',
  };
}

/**
 * The ARNs bedrock:InvokeModel must name for one model id (Converse calls are authorised as InvokeModel).
 *
 * - foundation model `anthropic.claude-...`: `arn:aws:bedrock:<region>::foundation-model/<id>`;
 * - cross-region inference profile `us.anthropic.claude-...`: the profile in this account and region,
 *   plus the foundation model in every region the profile may route to (hence the region wildcard);
 * - a full ARN (application inference profile, provisioned throughput): that ARN only.
 */
export function bedrockModelArns(scope: Construct, modelId: string): string[] {
  const stack = Stack.of(scope);
  if (modelId.startsWith('arn:')) {
    return [modelId];
  }
  const dot = modelId.indexOf('.');
  const prefix = dot > 0 ? modelId.slice(0, dot) : '';
  if (INFERENCE_PROFILE_PREFIXES.includes(prefix)) {
    const foundation = modelId.slice(dot + 1);
    return [
      `arn:${Aws.PARTITION}:bedrock:${stack.region}:${stack.account}:inference-profile/${modelId}`,
      `arn:${Aws.PARTITION}:bedrock:*::foundation-model/${foundation}`,
    ];
  }
  return [`arn:${Aws.PARTITION}:bedrock:${stack.region}::foundation-model/${modelId}`];
}

/** True when the model id is a cross-region inference profile (its grant has a region wildcard). */
export function isInferenceProfile(modelId: string): boolean {
  const dot = modelId.indexOf('.');
  return !modelId.startsWith('arn:') && dot > 0 && INFERENCE_PROFILE_PREFIXES.includes(modelId.slice(0, dot));
}
