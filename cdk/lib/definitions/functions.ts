import * as fs from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { TABLE_NAMES, TableName } from './tables';

/**
 * The Lambda functions, from `crates/gensec-lambda/functions.json` (the one definition: the CDK app
 * builds every function, its environment and its role from it; scripts/build-lambdas and
 * scripts/lambda-init-time read the binaries from it; the Rust test `tests/functions.rs` holds it
 * equal to the crate's binaries and environment constants). Its structure is checked against
 * `functions.schema.json`; the cross-references a schema cannot express are checked here.
 */

/** The buckets a function may touch, by their name in the definition. */
export const BUCKET_NAMES = ['input', 'output'] as const;
export type BucketName = (typeof BUCKET_NAMES)[number];

/** CDK context keys (config.ts) a variable's value may come from. */
export const CONTEXT_KEYS = ['minSeverity', 'findingTtlDays', 'setNotified', 'bedrockModelId'] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** What the stack sets a variable to. */
export type ValueSource =
  | { readonly kind: 'bucket'; readonly bucket: BucketName }
  | { readonly kind: 'table'; readonly table: TableName }
  | { readonly kind: 'state_machine' }
  | { readonly kind: 'batch_state_machine' }
  | { readonly kind: 'topic' }
  | { readonly kind: 'context'; readonly key: ContextKey }
  | { readonly kind: 'literal'; readonly text: string };

export interface VariableDef {
  readonly name: string;
  readonly means: string;
  readonly required: boolean;
  readonly default?: string;
  /** Undefined: the stack leaves the variable unset. */
  readonly value?: ValueSource;
}

export interface BucketTouch {
  readonly bucket: BucketName;
  readonly actions: readonly string[];
  readonly prefixes?: readonly string[];
}

export interface TableTouch {
  readonly table: TableName;
  readonly actions: readonly string[];
}

export interface Touches {
  readonly buckets?: readonly BucketTouch[];
  readonly tables?: readonly TableTouch[];
  readonly state_machine?: readonly string[];
  readonly batch_state_machine?: readonly string[];
  readonly topic?: readonly string[];
  readonly model?: readonly string[];
  readonly security_hub?: readonly string[];
}

export interface FunctionDef {
  /** Its key in the file. */
  readonly id: string;
  /** The PascalCase id: the construct id of the function (`<id>Role`, `<id>LogGroup` for the others). */
  readonly constructId: string;
  readonly binary: string;
  readonly description: string;
  /** trigger, stage:<stage id>, finalize, record-failure, batch or remediation. */
  readonly handler: string;
  readonly aslSubstitution?: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Every variable it reads, its own first, then every function's. */
  readonly environment: readonly VariableDef[];
  readonly deadLetterQueue?: { readonly retryAttempts: number; readonly maxEventAgeHours: number };
  readonly touches: Touches;
}

export interface FunctionDefs {
  /** In file order. */
  readonly functions: readonly FunctionDef[];
  /** Actions every role has on the stack key. */
  readonly keyActions: readonly string[];
  /** Actions every role has on its function's log group. */
  readonly logGroupActions: readonly string[];
  /** The environment catalogue, in file order. */
  readonly variables: readonly VariableDef[];
}

/** The one function with this handler (trigger, remediation, ...). */
export function functionWithHandler(defs: FunctionDefs, handler: string): FunctionDef {
  const found = defs.functions.filter((f) => f.handler === handler);
  if (found.length !== 1) {
    throw new Error(`expected exactly one function with handler '${handler}', found ${found.length}`);
  }
  return found[0];
}

/** `record_failure` -> `RecordFailure`. */
export function pascalCase(id: string): string {
  return id
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The file as the schema describes it (field names as in the file). */
interface RawVariable {
  readonly means: string;
  readonly required: boolean;
  readonly default?: string;
  readonly value?: string;
}

interface RawFunction {
  readonly binary: string;
  readonly description: string;
  readonly handler: string;
  readonly asl_substitution?: string;
  readonly memory_mb: number;
  readonly timeout_seconds: number;
  readonly environment: readonly string[];
  readonly dead_letter_queue?: { readonly retry_attempts: number; readonly max_event_age_hours: number };
  readonly touches: Touches;
}

interface RawFile {
  readonly every_function: { readonly environment: readonly string[]; readonly key: string[]; readonly log_group: string[] };
  readonly environment: Record<string, RawVariable>;
  readonly functions: Record<string, RawFunction>;
}

/** Handlers whose function the state machine invokes (and which therefore have an ASL substitution). */
const STATE_MACHINE_HANDLERS = /^(stage:.+|finalize|record-failure|batch)$/;

/**
 * Reads the file, validates it against the schema, and checks what the schema cannot: every
 * variable named is in the catalogue and read by someone, values name real buckets, tables and
 * context keys, binaries and substitutions are unique, there is one trigger and one remediation
 * function, and every resource a role may touch is one its function is told the name of.
 */
export function loadFunctionDefs(file: string, schemaFile: string): FunctionDefs {
  const raw = validated(file, schemaFile);
  const problems: string[] = [];
  const variables = new Map<string, VariableDef>();
  for (const [name, variable] of Object.entries(raw.environment)) {
    variables.set(name, { name, ...variable, value: parseValue(name, variable.value, problems) });
  }
  const lookup = (where: string, names: readonly string[]): VariableDef[] =>
    names.flatMap((name) => {
      const variable = variables.get(name);
      if (variable === undefined) problems.push(`${where}: variable ${name} is not in the environment catalogue`);
      return variable === undefined ? [] : [variable];
    });
  const common = lookup('every_function', raw.every_function.environment);
  const functions = Object.entries(raw.functions).map(([id, fn]): FunctionDef => {
    const own = lookup(`functions.${id}`, fn.environment);
    for (const variable of own) {
      if (raw.every_function.environment.includes(variable.name)) {
        problems.push(`functions.${id}: ${variable.name} is already in every_function.environment`);
      }
    }
    return {
      id,
      constructId: pascalCase(id),
      binary: fn.binary,
      description: fn.description,
      handler: fn.handler,
      aslSubstitution: fn.asl_substitution,
      memoryMb: fn.memory_mb,
      timeoutSeconds: fn.timeout_seconds,
      environment: [...own, ...common],
      deadLetterQueue:
        fn.dead_letter_queue === undefined
          ? undefined
          : { retryAttempts: fn.dead_letter_queue.retry_attempts, maxEventAgeHours: fn.dead_letter_queue.max_event_age_hours },
      touches: fn.touches,
    };
  });
  checkFunctions(functions, problems);
  const read = new Set(functions.flatMap((f) => f.environment.map((v) => v.name)));
  for (const name of variables.keys()) {
    if (!read.has(name)) problems.push(`environment.${name}: no function reads it`);
  }
  if (problems.length > 0) {
    throw new Error(`${file}:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    functions,
    keyActions: raw.every_function.key,
    logGroupActions: raw.every_function.log_group,
    variables: [...variables.values()],
  };
}

function validated(file: string, schemaFile: string): RawFile {
  const parse = (path: string, what: string): unknown => {
    if (!fs.existsSync(path)) {
      throw new Error(`${what} not found: ${path}`);
    }
    try {
      return JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
    }
  };
  const schema = parse(schemaFile, 'function definition schema') as object;
  const data = parse(file, 'function definitions');
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  if (!validate(data)) {
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(top)'} ${e.message ?? ''}`);
    throw new Error(`${file} does not match ${schemaFile}:\n  - ${errors.join('\n  - ')}`);
  }
  return data as RawFile;
}

function parseValue(name: string, value: string | undefined, problems: string[]): ValueSource | undefined {
  if (value === undefined) return undefined;
  const colon = value.indexOf(':');
  const [kind, rest] = [value.slice(0, colon), value.slice(colon + 1)];
  const is = <T extends string>(list: readonly T[], item: string): item is T => (list as readonly string[]).includes(item);
  if (kind === 'bucket' && is(BUCKET_NAMES, rest)) return { kind, bucket: rest };
  if (kind === 'table' && is(TABLE_NAMES, rest)) return { kind, table: rest };
  if (kind === 'context' && is(CONTEXT_KEYS, rest)) return { kind, key: rest };
  if ((kind === 'state_machine' || kind === 'batch_state_machine' || kind === 'topic') && rest === 'arn') return { kind };
  if (kind === 'literal') return { kind, text: rest };
  problems.push(`environment.${name}: value '${value}' names no bucket (${BUCKET_NAMES.join(', ')}), table (${TABLE_NAMES.join(', ')}) or context key (${CONTEXT_KEYS.join(', ')})`);
  return undefined;
}

function checkFunctions(functions: readonly FunctionDef[], problems: string[]): void {
  const duplicates = (values: (string | undefined)[]) =>
    values.filter((v, i) => v !== undefined && values.indexOf(v) !== i);
  for (const binary of duplicates(functions.map((f) => f.binary))) problems.push(`binary ${binary} is used twice`);
  for (const sub of duplicates(functions.map((f) => f.aslSubstitution))) problems.push(`asl_substitution ${sub} is used twice`);
  for (const handler of duplicates(functions.map((f) => f.handler))) problems.push(`handler ${handler} is used twice`);
  for (const handler of ['trigger', 'remediation']) {
    if (!functions.some((f) => f.handler === handler)) problems.push(`no function has handler '${handler}'`);
  }
  for (const f of functions) {
    if (STATE_MACHINE_HANDLERS.test(f.handler) !== (f.aslSubstitution !== undefined)) {
      problems.push(`functions.${f.id}: an asl_substitution is needed by, and only by, the functions the state machine invokes (stage:*, finalize, record-failure, batch)`);
    }
    for (const touch of f.touches.tables ?? []) {
      if (!(TABLE_NAMES as readonly string[]).includes(touch.table)) {
        problems.push(`functions.${f.id}: table '${touch.table}' is not in tables.json (${TABLE_NAMES.join(', ')})`);
      }
    }
    const told = new Set(f.environment.flatMap((v) => resourceNamedBy(v.value)));
    const untold = resourcesTouched(f.touches).filter((resource) => !told.has(resource));
    if (untold.length > 0) {
      problems.push(`functions.${f.id}: its role touches [${untold.join(', ')}] but no variable it reads names them (a grant it cannot use)`);
    }
  }
}

/** The resource whose name or ARN a variable carries (the model id counts as naming the model). */
function resourceNamedBy(value: ValueSource | undefined): string[] {
  switch (value?.kind) {
    case 'bucket':
      return [`bucket:${value.bucket}`];
    case 'table':
      return [`table:${value.table}`];
    case 'state_machine':
    case 'batch_state_machine':
    case 'topic':
      return [value.kind];
    case 'context':
      return value.key === 'bedrockModelId' ? ['model'] : [];
    default:
      return [];
  }
}

/** The resources a role touches (Security Hub's hub has no variable: it is the account's default hub). */
function resourcesTouched(touches: Touches): string[] {
  return [
    ...(touches.buckets ?? []).map((b) => `bucket:${b.bucket}`),
    ...(touches.tables ?? []).map((t) => `table:${t.table}`),
    ...(touches.state_machine === undefined ? [] : ['state_machine']),
    ...(touches.batch_state_machine === undefined ? [] : ['batch_state_machine']),
    ...(touches.topic === undefined ? [] : ['topic']),
    ...(touches.model === undefined ? [] : ['model']),
  ];
}
