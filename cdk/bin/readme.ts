#!/usr/bin/env node
/**
 * Rewrites the generated tables of cdk/README.md from crates/gensec-lambda/functions.json
 * (`npm run readme`); test/readme.test.ts fails when they are stale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { README_BEGIN, README_END, functionsTables } from '../lib/definitions/functions-table';
import { loadFunctionDefs } from '../lib/definitions/functions';
import { loadTableDefs } from '../lib/definitions/tables';

const repoRoot = path.resolve(__dirname, '..', '..');
const readme = path.join(__dirname, '..', 'README.md');
const lambda = path.join(repoRoot, 'crates', 'gensec-lambda');
const tables = functionsTables(
  loadFunctionDefs(path.join(lambda, 'functions.json'), path.join(lambda, 'functions.schema.json')),
  loadTableDefs(path.join(repoRoot, 'crates', 'gensec-aws', 'tables.json')),
);
const text = fs.readFileSync(readme, 'utf8');
const begin = text.indexOf(README_BEGIN);
const end = text.indexOf(README_END);
if (begin < 0 || end < begin) {
  throw new Error(`${readme}: the markers ${README_BEGIN} ... ${README_END} are missing`);
}
fs.writeFileSync(readme, text.slice(0, begin) + tables + text.slice(end + README_END.length));
