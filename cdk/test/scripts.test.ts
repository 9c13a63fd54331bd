import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binaries } from './helpers';

/**
 * The deployment scripts, run against stub `aws`, `cargo`, `rustup`, `npm` and `npx` commands that
 * log their arguments and answer like the real ones: no AWS account, build or network needed.
 */
const SCRIPTS_DIR = path.resolve(__dirname, '..', '..', 'scripts');
const SCRIPTS = ['build-lambdas', 'lambda-init-time', 'deploy', 'upload-examples', 'download-outputs', 'query-library'];
/** The binaries of crates/gensec-lambda/functions.json, the list build-lambdas reads. */
const BINARIES: string[] = Object.values(binaries());

const STUBS: Record<string, string> = {
  aws: `
case "$1 $2" in
  "cloudformation describe-stacks")
    case "$*" in
      *"'InputBucketName'"*) echo gensec-input-bucket ;;
      *"'OutputBucketName'"*) echo gensec-output-bucket ;;
      *"'RequestsTableName'"*) echo gensec-requests ;;
      *"'LibraryTableName'"*) echo gensec-library ;;
      *) echo None ;;
    esac ;;
  "dynamodb get-item")
    case "$*" in *REQ-MISSING*) echo None ;; *) echo "s3/REQ-2024-002/" ;; esac ;;
  "dynamodb query" | "dynamodb scan")
    printf 's3-enc\\tAPPROVED\\t2\\ns3-bpa\\tDRAFT\\t1\\n' ;;
esac`,
  cargo: `
case "$*" in
  "lambda --version") echo "cargo-lambda 1.8.0" ;;
  "lambda build"*)
    for b in ${BINARIES.join(' ')}; do
      mkdir -p "$CARGO_TARGET_DIR/lambda/$b" && head -c 2048 /dev/zero > "$CARGO_TARGET_DIR/lambda/$b/bootstrap"
    done ;;
esac`,
  rustup: `echo aarch64-unknown-linux-gnu`,
  npm: ``,
  npx: ``,
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
  dir: string;
}

const tempDirs: string[] = [];

function run(script: string, args: string[], setup?: (dir: string) => void): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-scripts-'));
  tempDirs.push(dir);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const log = path.join(dir, 'calls.log');
  for (const [name, body] of Object.entries(STUBS)) {
    fs.writeFileSync(
      path.join(bin, name),
      `#!/usr/bin/env bash\nprintf '%s %s\\n' "${name}" "$*" >> "${log}"\n${body}\n`,
      { mode: 0o755 },
    );
  }
  setup?.(dir);
  const result = spawnSync('bash', [path.join(SCRIPTS_DIR, script), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: dir,
      CARGO_TARGET_DIR: path.join(dir, 'target'),
    },
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, dir };
}

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(SCRIPTS)('scripts/%s', (script) => {
  const file = path.join(SCRIPTS_DIR, script);

  test('is executable bash that parses, is strict and has a usage line', () => {
    const text = fs.readFileSync(file, 'utf8');
    expect(fs.statSync(file).mode & 0o111).not.toBe(0);
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(new RegExp(`^# Usage: scripts/${script}\\b`));
    expect(text).toContain('\nset -euo pipefail\n');
    execFileSync('bash', ['-n', file]);
  });

  test('--help prints the usage and touches nothing', () => {
    const r = run(script, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: scripts/${script}`));
    expect(r.calls).toEqual([]);
  });

  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  (shellcheck ? test : test.skip)('passes shellcheck', () => {
    execFileSync('shellcheck', [file]);
  });
});

test('build-lambdas builds the package for arm64 and lists all ten artefacts', () => {
  const r = run('build-lambdas', []);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.calls).toContain('cargo lambda build --release --arm64 --package gensec-lambda');
  for (const binary of BINARIES) expect(r.stdout).toMatch(new RegExp(`${binary} +\\S+K`));
});

test('build-lambdas fails when an artefact is missing', () => {
  const r = run('build-lambdas', [], (dir) => {
    fs.writeFileSync(
      path.join(dir, 'bin', 'cargo'),
      `#!/usr/bin/env bash\ncase "$*" in "lambda --version") exit 0 ;; esac\nmkdir -p "$CARGO_TARGET_DIR/lambda/${BINARIES[0]}" && : > "$CARGO_TARGET_DIR/lambda/${BINARIES[0]}/bootstrap"\n`,
      { mode: 0o755 },
    );
  });
  expect(r.status).toBe(1);
  const missing = BINARIES.slice(1);
  for (const binary of missing) expect(r.stdout).toContain(`${binary.padEnd(30)} MISSING`);
  expect(r.stderr).toContain(`${missing.length} binaries missing`);
});

test('deploy builds, then runs npm ci and cdk deploy with the prebuilt binaries and the given arguments', () => {
  const r = run('deploy', ['--parameters', 'AlertEmail=secops@example.com']);
  expect(r.status).toBe(0);
  const target = path.join(r.dir, 'target');
  expect(r.calls.filter((c) => /^(cargo lambda build|npm|npx)/.test(c))).toEqual([
    'cargo lambda build --release --arm64 --package gensec-lambda',
    'npm ci --no-audit --no-fund',
    `npx cdk deploy -c prebuilt=${target}/lambda --parameters AlertEmail=secops@example.com`,
  ]);
});

test('upload-examples uploads the profiles, then the request', () => {
  const r = run('upload-examples', []);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const root = path.resolve(SCRIPTS_DIR, '..');
  expect(r.calls.filter((c) => c.startsWith('aws s3'))).toEqual([
    `aws s3 cp ${root}/config-example/security-profile/ s3://gensec-input-bucket/security-profile/ --recursive --exclude * --include *.json`,
    `aws s3 cp ${root}/config-example/service-request/s3.json s3://gensec-input-bucket/service-request/s3.json`,
  ]);
  expect(r.stdout).toContain('scripts/download-outputs REQ-2024-002');
});

test('download-outputs syncs the request\'s output prefix to ./gensec-out', () => {
  const r = run('download-outputs', ['REQ-2024-002']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.calls).toContain(
    'aws dynamodb get-item --table-name gensec-requests --key {"request_id": {"S": "REQ-2024-002"}, "record": {"S": "request"}} --projection-expression output_prefix --query Item.output_prefix.S --output text',
  );
  expect(r.calls).toContain('aws s3 sync s3://gensec-output-bucket/s3/REQ-2024-002/ ./gensec-out/s3/REQ-2024-002/');
  expect(fs.existsSync(path.join(r.dir, 'gensec-out', 's3', 'REQ-2024-002'))).toBe(true);
});

test('download-outputs: unknown request and unsafe ids are refused', () => {
  const missing = run('download-outputs', ['REQ-MISSING']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('request REQ-MISSING not found');
  expect(missing.calls.some((c) => c.startsWith('aws s3'))).toBe(false);
  const unsafe = run('download-outputs', ['x"}, "record": {"S": "y']);
  expect(unsafe.status).toBe(2);
  expect(unsafe.calls).toEqual([]);
  expect(run('download-outputs', []).status).toBe(2);
});

test('query-library queries service-index for one service and prints a sorted table', () => {
  const r = run('query-library', ['s3']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.calls).toContain(
    'aws dynamodb query --table-name gensec-library --index-name service-index --key-condition-expression service_id = :service --expression-attribute-values {":service": {"S": "s3"}} --query Items[?status].[configuration_id.S, status.S, version.N || version.S] --output text',
  );
  expect(r.stdout.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
    ['CONFIGURATION_ID', 'STATUS', 'VERSION'],
    ['s3-bpa', 'DRAFT', '1'],
    ['s3-enc', 'APPROVED', '2'],
  ]);
});

test('query-library without a service scans the table', () => {
  const r = run('query-library', []);
  expect(r.status).toBe(0);
  expect(r.calls.some((c) => c.startsWith('aws dynamodb scan --table-name gensec-library'))).toBe(true);
  expect(run('query-library', ['S3; rm -rf /']).status).toBe(2);
});
