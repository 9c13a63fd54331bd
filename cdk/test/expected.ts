import * as fs from 'node:fs';
import { bedrockModelArns } from '../lib/config';
import { GensecStack } from '../lib/gensec-stack';
import { Json, TABLES_JSON, arnOf, arnWithSuffix, functionsFile, logicalId } from './helpers';

/**
 * What crates/gensec-lambda/functions.json says each function must look like in the template, in
 * the template's own terms (Ref and Fn::GetAtt of the stack's resources). Written against the file
 * itself, not through the app's loader.
 */

type Element = { node: { defaultChild?: unknown } };

function bucket(stack: GensecStack, name: string): Element {
  const buckets: Record<string, Element> = { input: stack.inputBucket, output: stack.outputBucket };
  if (buckets[name] === undefined) throw new Error(`functions.json names bucket '${name}'`);
  return buckets[name];
}

function table(stack: GensecStack, name: string): Element {
  const tables: Record<string, Element> = {
    library: stack.libraryTable,
    requests: stack.requestsTable,
    findings: stack.findingsTable,
  };
  if (tables[name] === undefined) throw new Error(`functions.json names table '${name}'`);
  return tables[name];
}

/** `kind:rest` */
function split(value: string): [string, string] {
  const colon = value.indexOf(':');
  return [value.slice(0, colon), value.slice(colon + 1)];
}

/** The variables the stack must set for the function, with their values in the template. */
export function expectedEnvironment(stack: GensecStack, id: string): Record<string, Json> {
  const file = functionsFile();
  const ref = (element: Element) => ({ Ref: logicalId(stack, element) });
  const out: Record<string, Json> = {};
  for (const name of [...file.functions[id].environment, ...file.every_function.environment] as string[]) {
    const value: string | undefined = file.environment[name].value;
    if (value === undefined) continue;
    const [kind, rest] = split(value);
    const rendered: Json = {
      bucket: () => ref(bucket(stack, rest)),
      table: () => ref(table(stack, rest)),
      state_machine: () => ref(stack.stateMachine),
      batch_state_machine: () => ref(stack.batchStateMachine),
      topic: () => ref(stack.alertTopic),
      context: () => String((stack.config as unknown as Record<string, unknown>)[rest]),
      literal: () => rest,
    }[kind]!();
    if (rendered !== '') out[name] = rendered;
  }
  return out;
}

/** The resources (as the template names them) of each action the function's role must allow, and no other action. */
export function expectedGrants(stack: GensecStack, id: string): Record<string, Json[]> {
  const file = functionsFile();
  const fn = file.functions[id];
  const touches = fn.touches;
  const tablesJson = JSON.parse(fs.readFileSync(TABLES_JSON, 'utf8')) as Json;
  const out: Record<string, Json[]> = {};
  const on = (acts: string[] | undefined, res: Json[]) => {
    for (const a of acts ?? []) out[a] = [...(out[a] ?? []), ...res];
  };
  const id_ = (element: Element) => logicalId(stack, element);
  on(file.every_function.key, [arnOf(id_(stack.key))]);
  on(file.every_function.log_group, [arnOf(logicalId(stack, stack.functions[id].logGroup as unknown as Element))]);
  // Active tracing: X-Ray has no resource-level permissions.
  on(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], ['*']);
  for (const touch of touches.buckets ?? []) {
    const bucketId = id_(bucket(stack, touch.bucket));
    const objects = (touch.prefixes ?? ['']).map((prefix: string) => arnWithSuffix(bucketId, `/${prefix}*`));
    on(touch.actions.filter((a: string) => a !== 's3:ListBucket'), objects);
    on(touch.actions.filter((a: string) => a === 's3:ListBucket'), [arnOf(bucketId)]);
  }
  for (const touch of touches.tables ?? []) {
    const tableId = id_(table(stack, touch.table));
    const indexes: Json[] = tablesJson[touch.table].indexes ?? [];
    on(touch.actions, [arnOf(tableId), ...indexes.map((index) => arnWithSuffix(tableId, `/index/${index.name}`))]);
  }
  on(touches.state_machine, [{ Ref: id_(stack.stateMachine) }]);
  on(touches.batch_state_machine, [{ Ref: id_(stack.batchStateMachine) }]);
  on(touches.topic, [{ Ref: id_(stack.alertTopic) }]);
  if (stack.config.bedrockModelId !== '') {
    on(touches.model, bedrockModelArns(stack, stack.config.bedrockModelId).map((arn) => stack.resolve(arn)));
  }
  if (stack.config.setNotified) {
    on(touches.security_hub, [
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':hub/default'],
        ],
      },
    ]);
  }
  if (fn.dead_letter_queue !== undefined) {
    on(['sqs:SendMessage'], [arnOf(id_(stack.deadLetterQueue))]);
  }
  return out;
}
