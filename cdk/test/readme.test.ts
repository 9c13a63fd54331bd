import * as fs from 'node:fs';
import * as path from 'node:path';
import { README_BEGIN, README_END, functionsTables } from '../lib/definitions/functions-table';
import { loadFunctionDefs } from '../lib/definitions/functions';
import { loadTableDefs } from '../lib/definitions/tables';
import { FUNCTIONS_JSON, FUNCTIONS_SCHEMA, TABLES_JSON } from './helpers';

test('the function and variable tables of cdk/README.md are generated from functions.json (npm run readme)', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  expect(begin).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(begin);
  const expected = functionsTables(loadFunctionDefs(FUNCTIONS_JSON, FUNCTIONS_SCHEMA), loadTableDefs(TABLES_JSON));
  expect(readme.slice(begin, end + README_END.length)).toEqual(expected);
  // One row per function and per catalogued variable.
  const file = JSON.parse(fs.readFileSync(FUNCTIONS_JSON, 'utf8'));
  for (const id of Object.keys(file.functions)) expect(expected).toContain(`\n| ${id} | `);
  for (const name of Object.keys(file.environment)) expect(expected).toContain(`\n| \`${name}\` | `);
});
