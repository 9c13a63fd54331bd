import { FunctionDef, FunctionDefs, VariableDef } from './functions';
import { TableDef, TableName } from './tables';

/**
 * The Markdown tables of cdk/README.md that describe functions.json: each function's settings and
 * role, and the environment catalogue. `npm run readme` writes them between the README's markers;
 * test/readme.test.ts fails when the README is stale.
 */
export const README_BEGIN = '<!-- BEGIN generated from crates/gensec-lambda/functions.json by `npm run readme` -->';
export const README_END = '<!-- END generated -->';

export function functionsTables(defs: FunctionDefs, tables: Record<TableName, TableDef>): string {
  const common = new Set(defs.functions[0]?.environment.map((v) => v.name));
  for (const f of defs.functions) {
    const names = new Set(f.environment.map((v) => v.name));
    for (const name of common) if (!names.has(name)) common.delete(name);
  }
  const functionRows = defs.functions.map((f) => {
    const own = f.environment.filter((v) => !common.has(v.name));
    const set = own.filter((v) => v.value !== undefined).map((v) => `\`${v.name}\``);
    const unset = own.length - set.length;
    const reads = [set.join(', '), unset > 0 ? `(and ${unset} more an operator may set)` : ''].filter((s) => s !== '').join(' ');
    return `| ${f.id} | ${f.handler} | ${f.memoryMb} MB, ${f.timeoutSeconds} s | ${reads} | ${grantsOf(f, tables)} |`;
  });
  const variableRows = defs.variables.map(
    (v) => `| \`${v.name}\` | ${v.required ? 'yes' : 'no'} | ${v.default ?? ''} | ${valueText(v)} | ${escape(v.means)} |`,
  );
  return [
    README_BEGIN,
    '',
    `Every function also reads ${[...common].map((n) => `\`${n}\``).join(', ')}; every role also has ` +
      `\`${defs.logGroupActions.join('`, `')}\` on its own log group, \`${defs.keyActions.join('`, `')}\` on the stack key, ` +
      'and `xray:PutTraceSegments`, `xray:PutTelemetryRecords` on `*` (active tracing; X-Ray has no resource-level permissions).',
    '',
    '| function | handler | memory, timeout | variables the stack sets | role may (on) |',
    '|---|---|---|---|---|',
    ...functionRows,
    '',
    '| variable | required | default | the stack sets it to | means |',
    '|---|---|---|---|---|',
    ...variableRows,
    '',
    README_END,
  ].join('\n');
}

/** `s3:GetObject`, `s3:PutObject` -> `s3:GetObject/PutObject` */
function actionList(actions: readonly string[]): string {
  const service = actions[0].split(':')[0];
  return `\`${service}:${actions.map((a) => a.split(':')[1]).join('/')}\``;
}

function grantsOf(f: FunctionDef, tables: Record<TableName, TableDef>): string {
  const parts: string[] = [];
  for (const touch of f.touches.buckets ?? []) {
    const prefixes = (touch.prefixes ?? []).map((p) => `\`${p}*\``);
    const objects = touch.actions.filter((a) => a !== 's3:ListBucket');
    if (objects.length > 0) {
      parts.push(`${actionList(objects)} (${touch.bucket} ${prefixes.length > 0 ? prefixes.join(', ') : '`*`'})`);
    }
    if (touch.actions.includes('s3:ListBucket')) {
      parts.push(`\`s3:ListBucket\` (${touch.bucket}${prefixes.length > 0 ? `, \`s3:prefix\` like ${prefixes.join(', ')}` : ''})`);
    }
  }
  for (const touch of f.touches.tables ?? []) {
    const indexes = tables[touch.table].indexes.map((i) => ` + \`${i.name}\``).join('');
    parts.push(`${actionList(touch.actions)} (${touch.table}${indexes})`);
  }
  const on = (actions: readonly string[] | undefined, what: string) => {
    if (actions !== undefined) parts.push(`${actionList(actions)} (${what})`);
  };
  on(f.touches.state_machine, 'the state machine');
  on(f.touches.batch_state_machine, 'the batch state machine');
  on(f.touches.topic, 'the alert topic');
  on(f.touches.model, 'the configured model, if any');
  on(f.touches.security_hub, 'the default hub, only with `setNotified`');
  if (f.deadLetterQueue !== undefined) {
    parts.push(`\`sqs:SendMessage\` (dead-letter queue, after ${f.deadLetterQueue.retryAttempts} retries)`);
  }
  return parts.join('; ');
}

function valueText(v: VariableDef): string {
  switch (v.value?.kind) {
    case undefined:
      return 'not set (an operator may)';
    case 'bucket':
      return `${v.value.bucket} bucket name`;
    case 'table':
      return `${v.value.table} table name`;
    case 'state_machine':
      return 'state machine ARN';
    case 'batch_state_machine':
      return 'batch state machine ARN';
    case 'topic':
      return 'alert topic ARN';
    case 'context':
      return `context \`${v.value.key}\`${v.value.key === 'bedrockModelId' ? ' (empty: not set)' : ''}`;
    case 'literal':
      return `\`${v.value.text}\``;
  }
}

/** Text for a Markdown cell (`<service_id>` is not an HTML tag). */
function escape(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
}
