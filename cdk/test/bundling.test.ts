import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Json, REPO_ROOT, binaries } from './helpers';

/**
 * The default (deploy) path: cargo-lambda-cdk's RustFunction runs `cargo lambda build` once per
 * binary. A stub `cargo` stands in for cargo-lambda (no aarch64 toolchain needed) and records the
 * commands it was given.
 */
describe('RustFunction bundling with cargo-lambda', () => {
  const BINARIES = Object.values(binaries());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gensec-bundling-'));
  const log = path.join(dir, 'cargo.log');

  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(
      path.join(dir, 'bin', 'cargo'),
      `#!/usr/bin/env bash
printf '%s | %s\\n' "$PWD" "$*" >> "${log}"
[[ "$*" == "lambda --version" ]] && exit 0
out= bin=
while (($#)); do
  case "$1" in
    --lambda-dir) out="$2"; shift ;;
    --bin) bin="$2"; shift ;;
  esac
  shift
done
mkdir -p "$out" && printf 'built %s\\n' "$bin" > "$out/bootstrap"
`,
      { mode: 0o755 },
    );
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Through the CLI, as `cdk deploy` would synthesise: the stub must be on the PATH of the app's
  // process (jest's sandboxed process.env does not reach RustFunction's child processes).
  test('each function is built from the workspace as its own arm64 release binary', () => {
    const out = path.join(dir, 'cdk.out');
    execFileSync(
      path.join(__dirname, '..', 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', out, '-c', `repoRoot=${REPO_ROOT}`],
      {
        cwd: path.join(__dirname, '..'),
        env: { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` },
        stdio: 'pipe',
      },
    );
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    const builds = calls.filter((c) => c.includes('lambda build'));
    expect(builds).toHaveLength(BINARIES.length);
    for (const binary of BINARIES) {
      expect(builds).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${REPO_ROOT} \\| lambda build --lambda-dir \\S+ --release --arm64 --bin ${binary} --flatten ${binary} --package gensec-lambda$`,
          ),
        ),
      );
    }
    const template = JSON.parse(fs.readFileSync(path.join(out, 'Gensec.template.json'), 'utf8')) as Json;
    const assets = JSON.parse(fs.readFileSync(path.join(out, 'Gensec.assets.json'), 'utf8')) as Json;
    const functions = Object.values(template.Resources).filter(
      (r: Json) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'provided.al2023',
    ) as Json[];
    expect(functions).toHaveLength(BINARIES.length);
    const built = functions.map((fn) => {
      const source = assets.files[String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')].source;
      return fs.readFileSync(path.join(out, source.path, 'bootstrap'), 'utf8').trim();
    });
    expect(built.sort()).toEqual(BINARIES.map((b) => `built ${b}`).sort());
  });
});
