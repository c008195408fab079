import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleSolve } from '@conda-org/rattler';
import { parseYaml, type YamlValue } from '../../src/core/lockfiles/yaml.ts';
import { CONDA_PUBLISH_PREDICATE_TYPE } from '../../src/core/attest/statement.ts';
import { PACKAGES_DIR, ROOT } from '../support/server.ts';
import { CLEAN_ENV, provena } from '../support/cli.ts';
import { makePackage } from '../support/package-factory.ts';
import { uploadRaw } from '../support/upload.ts';

/**
 * Every command in README.md is exercised here. Each shell or YAML block carries a marker on the line
 * before it, `<!-- readme-test: KIND -->`, and an unmarked block fails this test until it is covered:
 *
 * - `run`: executed in document order, each command on its own, against a real `npx provena serve`
 *   started the README's way (in a fresh directory, admin token generated); `http://127.0.0.1:8000` becomes
 *   the server's URL and `npx provena` the checkout's bin/provena.js. Exit 0 unless the line's comment says
 *   `exit N`; some commands' output is checked too (EXPECTED_OUTPUT).
 * - `install`: `conda install -c URL SPEC` / `pixi init --channel URL … && pixi add SPEC` cannot run here: the
 *   channel's repodata must name the package and rattler (pixi's solver) must resolve the spec from it, with
 *   the public channels the line names replaced by a local stand-in holding the dependencies.
 * - `workflow github|gitlab`: a complete CI file: parsed by the strict YAML reader, its structure checked,
 *   and every command in it checked like `syntax`.
 * - `yaml`: a CI snippet: parsed, commands checked like `syntax`.
 * - `syntax`: commands with placeholders: each `provena` command and flag must exist in the CLI, each
 *   `rattler-build upload prefix` flag must be one rattler-build has.
 * - `skip (reason)`: not run (installs, internet downloads, the test suite itself); npm scripts and test files
 *   they name must exist.
 */

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const README_URL = 'http://127.0.0.1:8000';
const KINDS = ['run', 'install', 'workflow', 'yaml', 'syntax', 'skip'];
const COMMAND_WORDS = /^(npx |provena|curl|conda|pixi|rattler-build|npm|export)\b/m;

/** Output a README command must print (besides its exit code), by what the command is. */
const EXPECTED_OUTPUT: [RegExp, RegExp][] = [
  [/provena channel create demo/, /created channel demo/],
  [/provena key create/, /secret \(shown once\): pvn_/],
  [/provena upload zlib-1\.2\.11-h7b6447c_3\.conda --channel demo/, /uploaded demo\/linux-64\/zlib-1\.2\.11-h7b6447c_3\.conda/],
  [/provena log verify-receipt/, /receipt verified/],
  [/provena verify .*zlib-1\.2\.11-h7b6447c_3\.conda/, /no attestation/],
  [/\/api\/openapi\.json/, /"openapi":"3\.\d+\.\d+".*"\/api\/v1\/upload\/\{channel\}"/s],
  [/provena publisher add demo --kind github/, /acme\/widgets/],
  [/provena publisher add demo --kind gitlab/, /acme\/widgets/],
];

/** rattler-build upload prefix's flags (rattler-build / pixi upload documentation). */
const RATTLER_PREFIX_FLAGS = new Set(['--url', '-u', '--channel', '-c', '--api-key', '-a', '--attestation', '--generate-attestation', '--skip-existing', '-s', '--force']);

interface Block {
  line: number;
  lang: string;
  body: string;
  kind: string | null;
  arg: string;
}

function readmeBlocks(): Block[] {
  const lines = README.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `README.md line ${i + 1}: unclosed code block`);
    let prev = i - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const marker = prev >= 0 ? /^<!-- readme-test: (\w+)\s*(.*?)\s*-->$/.exec(lines[prev]!.trim()) : null;
    blocks.push({ line: i + 1, lang: open[1]!, body: lines.slice(i + 1, end).join('\n'), kind: marker?.[1] ?? null, arg: marker?.[2] ?? '' });
    i = end;
  }
  return blocks;
}

/** A block's commands: continuation lines joined, comment-only and blank lines dropped. */
function commandsOf(body: string): { command: string; comment: string }[] {
  const out: { command: string; comment: string }[] = [];
  let pending = '';
  for (const raw of body.split('\n')) {
    if (raw.trimEnd().endsWith('\\')) {
      pending += raw.trimEnd().slice(0, -1) + ' ';
      continue;
    }
    const full = pending + raw;
    pending = '';
    const { code, comment } = splitComment(full);
    if (code.trim()) out.push({ command: code.trim(), comment });
  }
  return out;
}

/** Splits `cmd  # comment` at a `#` that starts a word outside quotes. */
function splitComment(line: string): { code: string; comment: string } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return { code: line.slice(0, i), comment: line.slice(i + 1).trim() };
  }
  return { code: line, comment: '' };
}

const blocks = readmeBlocks();

test('every shell and YAML block of the README is marked with how it is tested', () => {
  const unmarked: string[] = [];
  for (const b of blocks) {
    const isCommand = ['sh', 'bash', 'shell', 'console', 'yaml', 'yml'].includes(b.lang) || (b.lang === '' && COMMAND_WORDS.test(b.body));
    if (b.kind !== null) assert.ok(KINDS.includes(b.kind), `README.md line ${b.line}: unknown marker kind "${b.kind}"`);
    if (isCommand && b.kind === null) unmarked.push(`README.md line ${b.line}: \`\`\`${b.lang} block without <!-- readme-test: KIND --> (${KINDS.join(', ')})`);
  }
  assert.deepEqual(unmarked, []);
  assert.ok(blocks.some((b) => b.kind === 'run') && blocks.some((b) => b.kind === 'install') && blocks.filter((b) => b.kind === 'workflow').length >= 2);
});

// ---------- syntax: commands and flags that exist ----------

const CLI_SOURCES = fs
  .readdirSync(path.join(ROOT, 'src/adapters/cli'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => fs.readFileSync(path.join(ROOT, 'src/adapters/cli', f), 'utf8'))
  .join('\n');
let usageText: string | undefined;

async function usage(): Promise<string> {
  if (usageText !== undefined) return usageText;
  const text = await provena([]).then((r) => r.stdout + r.stderr);
  usageText = text;
  return text;
}

/** Problems with one command line (split at &&, ;, |): provena commands and flags, rattler-build flags. */
async function commandProblems(command: string): Promise<string[]> {
  const problems: string[] = [];
  // "$(…)" is another command, checked on its own
  const substitutions = [...command.matchAll(/\$\(([^)]*)\)/g)].map((m) => m[1]!);
  for (const inner of substitutions) problems.push(...(await commandProblems(inner)));
  for (const part of command.replace(/"?\$\([^)]*\)"?/g, 'VALUE').split(/&&|;|\|(?!-)/)) {
    const words = part.trim().replace(/^npx\s+/, '').split(/\s+/);
    if (words[0] === 'provena') {
      const sub = words[1];
      if (!sub || !new RegExp(`^\\s+${sub.replace(/[|\\]/g, '')}\\b`, 'm').test(await usage())) problems.push(`${part.trim()}: provena has no command "${sub}"`);
      for (const flag of flagsOf(words.slice(2)).filter((f) => f.startsWith('--'))) {
        const name = flag.slice(2);
        if (!new RegExp(`(^|[\\s{,])'?${name.replace(/-/g, '\\-')}'?\\s*:\\s*\\{\\s*type:`, 'm').test(CLI_SOURCES)) {
          problems.push(`${part.trim()}: provena ${sub} has no flag ${flag}`);
        }
      }
    } else if (words[0] === 'pixi' && words[1] === 'exec' && words[2] === 'rattler-build') {
      problems.push(...(await commandProblems(words.slice(2).join(' '))));
    } else if (words[0] === 'rattler-build' && words[1] === 'upload' && words[2] === 'prefix') {
      for (const flag of flagsOf(words.slice(3))) if (!RATTLER_PREFIX_FLAGS.has(flag)) problems.push(`${part.trim()}: rattler-build upload prefix has no flag ${flag}`);
    }
  }
  return problems;
}

/** `--flag`, `[--flag X]`, `--a|--b`, `--flag=value` → the flag names. */
function flagsOf(words: string[]): string[] {
  return words
    .flatMap((w) => w.replace(/[[\]]/g, '').split('|'))
    .filter((w) => /^-{1,2}[a-z]/.test(w))
    .map((w) => w.split('=')[0]!.replace(/\.\.\.$/, '').replace(/\(-regexp\)$/, ''));
}

test('syntax blocks name provena commands and flags that exist, and rattler-build flags it has', async () => {
  const problems: string[] = [];
  for (const b of blocks.filter((x) => x.kind === 'syntax')) {
    for (const { command } of commandsOf(b.body)) problems.push(...(await commandProblems(command)).map((p) => `README.md line ${b.line}: ${p}`));
  }
  assert.deepEqual(problems, []);
  // the check can fail: a made-up flag and command are caught
  assert.equal((await commandProblems('provena upload x.conda --channel demo --no-such-flag')).length, 1);
  assert.equal((await commandProblems('npx provena frobnicate demo')).length, 1);
  assert.equal((await commandProblems('rattler-build upload prefix --url u --channel c --token t x.conda')).length, 1);
});

test('skipped blocks name npm scripts and test files that exist', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const b of blocks.filter((x) => x.kind === 'skip')) {
    assert.match(b.arg, /^\(.+\)$/, `README.md line ${b.line}: a skipped block says why, in parentheses`);
    for (const { command } of commandsOf(b.body)) {
      const npm = /^npm (?:run )?([\w:-]+)/.exec(command);
      if (npm && npm[1] !== 'ci' && npm[1] !== 'install') assert.ok(npm[1]! in pkg.scripts, `README.md line ${b.line}: npm script ${npm[1]}`);
      for (const file of command.match(/test\/\S+\.test\.ts/g) ?? []) assert.ok(fs.existsSync(path.join(ROOT, file)), `README.md line ${b.line}: ${file} exists`);
    }
  }
});

// ---------- workflows and YAML snippets ----------

function commandsInYaml(v: YamlValue, key = ''): string[] {
  if (typeof v === 'string') return key === 'run' || key === 'script' || key === 'before_script' ? v.split('\n').map((s) => s.trim()).filter(Boolean) : [];
  if (Array.isArray(v)) return v.flatMap((x) => commandsInYaml(x, key));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => commandsInYaml(x, k));
  return [];
}

const asMap = (v: YamlValue | undefined, what: string): Record<string, YamlValue> => {
  assert.ok(v && typeof v === 'object' && !Array.isArray(v), `${what} is a mapping`);
  return v as Record<string, YamlValue>;
};

test('the CI files parse, have the structure GitHub and GitLab require, and sign for the channel they upload to', async () => {
  const problems: string[] = [];
  const workflows = blocks.filter((b) => b.kind === 'workflow' || b.kind === 'yaml');
  assert.ok(workflows.some((b) => b.arg === 'github') && workflows.some((b) => b.arg === 'gitlab'));
  for (const b of workflows) {
    const doc = parseYaml(b.body, { source: `README.md line ${b.line}` });
    const commands = commandsInYaml(doc);
    assert.ok(commands.length > 0, `README.md line ${b.line}: the block runs commands`);
    for (const c of commands) problems.push(...(await commandProblems(c)).map((p) => `README.md line ${b.line}: ${p}`));
    if (b.kind === 'workflow' && b.arg === 'github') checkGithubWorkflow(asMap(doc, 'the workflow'), commands);
    if (b.kind === 'workflow' && b.arg === 'gitlab') checkGitlabPipeline(asMap(doc, 'the pipeline'), commands);
  }
  assert.deepEqual(problems, []);
});

function checkGithubWorkflow(doc: Record<string, YamlValue>, commands: string[]) {
  assert.ok('on' in doc, 'the workflow has triggers (on)');
  const jobs = asMap(doc.jobs, 'jobs');
  for (const [name, j] of Object.entries(jobs)) {
    const job = asMap(j, `job ${name}`);
    assert.equal(typeof job['runs-on'], 'string', `job ${name}: runs-on`);
    assert.equal(asMap(job.permissions, `job ${name}: permissions`)['id-token'], 'write', 'id-token: write, for Trusted Publishing and signing');
    const steps = job.steps;
    assert.ok(Array.isArray(steps) && steps.length > 0, `job ${name}: steps`);
    for (const s of steps) {
      const step = asMap(s, 'a step');
      assert.ok(('uses' in step) !== ('run' in step), `a step has either uses or run: ${JSON.stringify(step)}`);
    }
    const attest = steps.map((s) => asMap(s, 'a step')).find((s) => typeof s.uses === 'string' && s.uses.startsWith('actions/attest@'));
    assert.ok(attest, 'an actions/attest step');
    const withs = asMap(attest.with, 'actions/attest with');
    assert.equal(withs['predicate-type'], CONDA_PUBLISH_PREDICATE_TYPE, 'the conda predicate type the server requires');
    assert.ok(typeof withs['subject-path'] === 'string');
    const predicate = JSON.parse(String(withs.predicate)) as { targetChannel?: string };
    const upload = commands.map((c) => c.replace(/^pixi exec /, '')).find((c) => c.startsWith('rattler-build upload prefix'));
    assert.ok(upload, 'a rattler-build upload prefix step');
    const url = /--url (\S+)/.exec(upload)?.[1];
    const channel = /--channel (\S+)/.exec(upload)?.[1];
    assert.equal(predicate.targetChannel, `${url}/${channel}`, 'targetChannel is the channel the job uploads to');
    assert.match(upload, new RegExp(`--attestation \\$\\{\\{ steps\\.${String(attest.id)}\\.outputs\\.bundle-path \\}\\}`), 'uploads the bundle actions/attest wrote');
  }
}

function checkGitlabPipeline(doc: Record<string, YamlValue>, commands: string[]) {
  for (const [name, j] of Object.entries(doc)) {
    const job = asMap(j, `job ${name}`);
    assert.ok(Array.isArray(job.script) && job.script.length > 0, `job ${name}: script`);
    const tokens = asMap(job.id_tokens, `job ${name}: id_tokens`);
    const upload = commands.find((c) => /^provena upload .*--trusted-publishing/.test(c));
    assert.ok(upload, 'a provena upload --trusted-publishing command');
    const server = new URL(/--server (\S+)/.exec(upload)![1]!);
    assert.equal(asMap(tokens.PROVENA_ID_TOKEN, 'PROVENA_ID_TOKEN').aud, server.hostname, 'the Trusted Publishing token has the server audience');
    if (/--generate-attestation/.test(upload)) assert.equal(asMap(tokens.SIGSTORE_ID_TOKEN, 'SIGSTORE_ID_TOKEN').aud, 'sigstore');
  }
}

// ---------- run and install: the quick start against a real server ----------

let serverProcess: ChildProcess | undefined;
after(() => {
  serverProcess?.kill('SIGTERM');
});

function sh(command: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -eo pipefail; source ./.readme-env; ${command}`], { cwd, env: { ...process.env, ...CLEAN_ENV, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('the quick start runs as written against a real server, and conda / pixi resolve the package from it', { timeout: 600_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-readme-'));
  fs.writeFileSync(path.join(dir, '.readme-env'), '');
  const bin = `node ${path.join(ROOT, 'bin/provena.js')}`;
  const localize = (cmd: string, url: string) => cmd.replaceAll(README_URL, url).replace(/(^|[\s;&|(])(?:npx )?provena /g, `$1${bin} `);
  // packages the README publishes come from the shared test data (the README downloads them)
  for (const file of new Set(README.match(/[\w.-]+-[\w.]+-[\w.]+\.(?:conda|tar\.bz2)/g) ?? [])) {
    if (fs.existsSync(path.join(PACKAGES_DIR, file))) fs.copyFileSync(path.join(PACKAGES_DIR, file), path.join(dir, file));
  }
  let url = '';
  const ran: string[] = [];
  for (const b of blocks.filter((x) => x.kind === 'run' || x.kind === 'install')) {
    for (const { command, comment } of commandsOf(b.body)) {
      const where = `README.md line ${b.line}: ${command}`;
      if (b.kind === 'install') {
        assert.ok(url, `${where}: a server was started before`);
        await checkInstall(command, url, dir, where);
        ran.push(command);
        continue;
      }
      if (/^(?:npx )?provena serve\b/.test(command)) {
        url = await startReadmeServer(localize(command, url), dir);
        ran.push(command);
        continue;
      }
      assert.ok(url, `${where}: the README starts the server first`);
      const local = localize(command, url);
      if (/^export \w+=/.test(command)) {
        fs.appendFileSync(path.join(dir, '.readme-env'), `${local}\n`);
        const check = await sh('true', dir, {});
        assert.equal(check.code, 0, `${where}: ${check.out}`);
        ran.push(command);
        continue;
      }
      const expectedCode = Number(/\bexit (\d+)\b/.exec(comment)?.[1] ?? 0);
      const r = await sh(local, dir, {});
      assert.equal(r.code, expectedCode, `${where}\nexit ${r.code}, expected ${expectedCode}:\n${r.out}`);
      for (const [when, output] of EXPECTED_OUTPUT) if (when.test(command)) assert.match(r.out, output, `${where}: output`);
      ran.push(command);
    }
  }
  assert.ok(ran.length >= 12, `ran ${ran.length} README commands`);
});

async function startReadmeServer(command: string, dir: string): Promise<string> {
  // the README's port 8000 may be taken on a test machine: --port 0 picks a free one
  const args = command.split(/\s+/).slice(1); // node BIN serve …
  serverProcess = spawn(process.execPath, [...args, '--port', '0', '--log-level', 'warn'], { cwd: dir, env: { ...process.env, ...CLEAN_ENV, PROVENA_ADMIN_TOKEN: '' } });
  let out = '';
  serverProcess.stdout!.on('data', (d) => (out += d));
  serverProcess.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${out}`)), 60_000);
    serverProcess!.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    serverProcess!.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  assert.match(out, /generated an admin token/, 'the first start prints the admin token');
  assert.ok(fs.existsSync(path.join(dir, 'provena-data/admin-token')), 'provena-data/admin-token');
  return url;
}

/**
 * `conda install -c URL... SPEC...` or `pixi init … --channel URL… && … pixi add SPEC…`: the local channel's
 * repodata names each package, and rattler resolves the specs from the channels the line names — public
 * ones (conda-forge, and conda's defaults) stood in for by a local channel with the dependencies.
 */
async function checkInstall(command: string, url: string, dir: string, where: string) {
  const line = command.replaceAll(README_URL, url);
  let channels: string[];
  let specs: string[];
  if (/^conda install /.test(line)) {
    const words = line.split(/\s+/).slice(2);
    channels = words.filter((_, i) => words[i - 1] === '-c' || words[i - 1] === '--channel');
    specs = words.filter((w, i) => !w.startsWith('-') && words[i - 1] !== '-c' && words[i - 1] !== '--channel');
    channels.push('defaults');
  } else if (/^pixi init /.test(line)) {
    channels = [...line.matchAll(/--channel (\S+)/g)].map((m) => m[1]!);
    specs = (/pixi add (.+)$/.exec(line)?.[1] ?? '').split(/\s+/).filter(Boolean);
  } else {
    assert.fail(`${where}: an install line this test does not know; teach checkInstall about it`);
  }
  assert.ok(specs.length > 0 && channels.some((c) => c.startsWith(url)), `${where}: a spec and the local channel`);
  const standIn = await publicChannelStandIn(url, dir);
  const resolved = channels.map((c) => (c.startsWith(url) ? c : standIn));
  const local = channels.filter((c) => c.startsWith(url));
  for (const spec of specs) {
    const names = await Promise.all(
      local.flatMap((c) => ['linux-64', 'noarch'].map((sd) => fetch(`${c}/${sd}/repodata.json`).then((r) => r.json() as Promise<any>))),
    );
    const listed = names.some((rd) => Object.values({ ...rd.packages, ...rd['packages.conda'] }).some((r: any) => r.name === spec));
    assert.ok(listed, `${where}: the channel's repodata names ${spec}`);
  }
  const solved = await simpleSolve(specs, [...new Set(resolved)], ['linux-64', 'noarch'], []);
  for (const spec of specs) {
    const pkg = solved.find((p) => p.packageName === spec);
    assert.ok(pkg, `${where}: rattler resolves ${spec}`);
    assert.ok(local.some((c) => pkg.url.startsWith(`${c}/`)), `${where}: ${spec} comes from the README's channel, not ${pkg.url}`);
  }
}

let standInUrl: string | undefined;
/** conda-forge / defaults, locally: the dependencies of the README's package (zlib needs libgcc-ng). */
async function publicChannelStandIn(url: string, dir: string): Promise<string> {
  if (standInUrl) return standInUrl;
  const token = fs.readFileSync(path.join(dir, 'provena-data/admin-token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${url}/api/v1/channels`, { method: 'POST', headers, body: JSON.stringify({ name: 'public-stand-in' }) });
  assert.equal(created.status, 201);
  const spec = { name: 'libgcc-ng', version: '13.2.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
  const up = await uploadRaw({ url }, 'public-stand-in', 'libgcc-ng-13.2.0-h0_0.conda', await makePackage(spec), { token });
  assert.equal(up.status, 201, JSON.stringify(up.json));
  standInUrl = `${url}/public-stand-in`;
  return standInUrl;
}

test('the README links to headings and files that exist', () => {
  // GitHub's anchors: lower case, punctuation dropped, spaces to hyphens
  const slug = (h: string) => h.trim().toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-');
  const anchors = new Set([...README.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!.replace(/`/g, ''))));
  const problems: string[] = [];
  for (const [, target] of README.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^https?:/.test(target!)) continue;
    const [file, anchor] = target!.split('#');
    if (file) {
      if (!fs.existsSync(path.join(ROOT, file))) problems.push(`${target}: no such file`);
    } else if (!anchors.has(anchor!)) problems.push(`${target}: no such heading`);
  }
  assert.deepEqual(problems, []);
});
