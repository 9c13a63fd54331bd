import * as fs from 'node:fs';

/**
 * The DynamoDB key schemas, from `crates/gensec-aws/tables.json` (the one definition: the Rust
 * adapter tests create their tables from the same file). All key attributes are strings.
 */
export interface IndexDef {
  readonly name: string;
  readonly partition_key: string;
  readonly sort_key: string;
}

export interface TableDef {
  readonly partition_key: string;
  readonly sort_key?: string;
  readonly indexes: readonly IndexDef[];
  readonly ttl_attribute?: string;
}

/** The tables the stack creates, by their logical name in tables.json. */
export const TABLE_NAMES = ['library', 'requests', 'findings'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

const TABLE_FIELDS = new Set(['partition_key', 'sort_key', 'indexes', 'ttl_attribute']);
const INDEX_FIELDS = new Set(['name', 'partition_key', 'sort_key']);

/**
 * Reads and checks the file: exactly the tables in TABLE_NAMES (plus `_comment`), no field the
 * stack would silently ignore, every name a non-empty string.
 */
export function loadTableDefs(file: string): Record<TableName, TableDef> {
  if (!fs.existsSync(file)) {
    throw new Error(`table definitions not found: ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) {
    throw new Error(`${file}: expected an object of tables`);
  }
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  const name = (where: string, value: unknown): string =>
    typeof value === 'string' && value !== '' ? value : fail(`${where} must be a non-empty string`);

  for (const key of Object.keys(raw)) {
    if (key !== '_comment' && !(TABLE_NAMES as readonly string[]).includes(key)) {
      fail(`table '${key}' is not one the stack creates (${TABLE_NAMES.join(', ')})`);
    }
  }
  const out: Partial<Record<TableName, TableDef>> = {};
  for (const table of TABLE_NAMES) {
    const def = raw[table];
    if (!isObject(def)) {
      return fail(`table '${table}' is missing`);
    }
    for (const field of Object.keys(def)) {
      if (!TABLE_FIELDS.has(field)) fail(`${table}: unknown field '${field}'`);
    }
    const indexes = def.indexes ?? [];
    if (!Array.isArray(indexes)) fail(`${table}.indexes must be an array`);
    out[table] = {
      partition_key: name(`${table}.partition_key`, def.partition_key),
      sort_key: def.sort_key === undefined ? undefined : name(`${table}.sort_key`, def.sort_key),
      ttl_attribute: def.ttl_attribute === undefined ? undefined : name(`${table}.ttl_attribute`, def.ttl_attribute),
      indexes: (indexes as unknown[]).map((index, i) => {
        const where = `${table}.indexes[${i}]`;
        if (!isObject(index)) return fail(`${where} must be an object`);
        for (const field of Object.keys(index)) {
          if (!INDEX_FIELDS.has(field)) fail(`${where}: unknown field '${field}'`);
        }
        return {
          name: name(`${where}.name`, index.name),
          partition_key: name(`${where}.partition_key`, index.partition_key),
          sort_key: name(`${where}.sort_key`, index.sort_key),
        };
      }),
    };
  }
  return out as Record<TableName, TableDef>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
