import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { isBlinded, parseEntry } from '../../src/core/tlog/entry.ts';
import { api } from '../support/server.ts';
import { ACME, startVerifyEnv, verify, type Published, type VerifyEnv } from './fixture.ts';

/**
 * `provena verify` of a package in a private channel: its log entry is blinded, so the check goes
 * through the opening in FILE.receipt.json (served to the reader's token), and a receipt whose
 * opening is missing, for another entry or does not hash to the commitment fails the package.
 */
describe('verifying a package of a private channel', () => {
  let env: VerifyEnv;
  let p: Published;
  let other: Published;
  let token: string;
  const trust = () => ['--trusted-root', env.rootFile];
  const tokenUrl = (pkg: Published) => pkg.url.replace(env.url, `${env.url}/t/${token}`);
  const receiptPath = (pkg: Published) => `${new URL(tokenUrl(pkg)).pathname}.receipt.json`;

  before(async () => {
    env = await startVerifyEnv();
    assert.equal((await api(env.server, 'POST', '/api/v1/channels', { name: 'hidden', private: true })).status, 201);
    const key = await api(env.server, 'POST', '/api/v1/keys', { channel: 'hidden', scope: 'read' });
    assert.equal(key.status, 201, JSON.stringify(key.json));
    token = key.json.secret;
    const added = await api(env.server, 'POST', '/api/v1/channels/hidden/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    p = await env.publish({ channel: 'hidden' });
    other = await env.publish({ channel: 'hidden', subdir: 'noarch' });
  });
  after(() => env?.close());
  afterEach(() => {
    env.override = null;
  });

  const receiptOf = async (pkg: Published) => (await (await fetch(env.url + receiptPath(pkg))).json()) as Record<string, any>;

  it('verifies through the opening: the logged entry is blinded', async () => {
    const receipt = await receiptOf(p);
    assert.ok(isBlinded(parseEntry(Buffer.from(receipt.entry, 'base64'))), 'the public log holds the entry blinded');
    assert.equal(receipt.opening.entry.filename, p.filename);
    const r = await verify([tokenUrl(p), ...trust(), ...ACME]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /log entry \d+ in 127\.0\.0\.1:\d+\/log/);
  });

  it('fails a blinded receipt without its opening, with a wrong salt, or another entry\'s opening', async () => {
    const good = await receiptOf(p);
    const theirs = await receiptOf(other);
    const { opening, ...withoutOpening } = good;
    const cases: Array<[string, unknown, RegExp]> = [
      ['no opening', withoutOpening, /log_entry_blinded/],
      ['wrong salt', { ...good, opening: { ...opening, salt: 'cd'.repeat(32) } }, /log_opening_mismatch/],
      ['altered filename', { ...good, opening: { ...opening, entry: { ...opening.entry, filename: other.filename } } }, /log_opening_mismatch/],
      ['another entry\'s opening', { ...good, opening: theirs.opening }, /log_opening_wrong_entry/],
    ];
    for (const [name, receipt, want] of cases) {
      env.override = (path) => (path === receiptPath(p) ? JSON.stringify(receipt) : undefined);
      const r = await verify([tokenUrl(p), ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1, `${name}: ${r.out}${r.err}`);
      assert.match(r.err, want, name);
    }
  });
});
