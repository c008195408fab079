// Replicas sharing tuf_key_dir that start at once must agree on a channel's bootstrap keys: several
// processes generating them into one empty directory at the same moment all end up with one key per
// role, the same for all, and nobody reads a half-written key file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const KEY_DIR_MODULE = fileURLToPath(new URL('../../src/adapters/tuf/key-dir.ts', import.meta.url));

/** One process that waits for `go`, bootstraps the keyring in `dir` and prints each role's key id. */
function bootstrapper(dir: string, go: string): Promise<string> {
  const script = `
    import * as fs from 'node:fs';
    const { KeyDirKeyring } = await import(${JSON.stringify(KEY_DIR_MODULE)});
    while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 2));
    const k = new KeyDirKeyring(${JSON.stringify(dir)}).bootstrap();
    process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(k).map(([role, s]) => [role, s.key.keyID]))));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bootstrapper exited ${code}: ${err}`))));
  });
}

test('processes bootstrapping one shared key directory at once get the same keys', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-keys-'));
  try {
    const dir = path.join(tmp, 'keys');
    const go = path.join(tmp, 'go');
    const running = [1, 2, 3, 4].map(() => bootstrapper(dir, go));
    await new Promise((r) => setTimeout(r, 3000)); // let them all load and wait at the line
    fs.writeFileSync(go, '');
    const answers = (await Promise.all(running)).map((s) => JSON.parse(s) as Record<string, string>);
    for (const a of answers) assert.deepEqual(a, answers[0], 'every process signs with the same bootstrap keys');
    assert.equal(new Set(Object.values(answers[0]!)).size, 4, 'one distinct key per role');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['root.pem', 'snapshot.pem', 'targets.pem', 'timestamp.pem'], 'no temporary files left behind');
    for (const f of fs.readdirSync(dir)) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, `${f} is private`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
