import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { parseCheckpoint, signCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { noteSigner } from '../../src/core/tlog/key-ring.ts';
import { formatVerifierKey, generateSignerKey, verifierKeyOf } from '../../src/core/tlog/note-keys.ts';
import { parseNote } from '../../src/core/tlog/note.ts';
import { ACME, GITHUB, provena, sha256, startVerifyEnv, verify, verifyEnv, type Published, type VerifyEnv } from './fixture.ts';
import { condaLockV1, explicitSpec, pixiLockV5, pixiLockV6, pixiLockV7, type LockPackage } from './lockfile-formats.ts';

/**
 * `provena verify URL`, `verify --channel URL SPEC...` and `verify-env LOCKFILE --policy POLICY` against a
 * real server serving attested packages (signed by the local Sigstore stack, accepted by the server's
 * own check, logged in its transparency log), through a front that can lie about single files.
 */
describe('verifying packages from a channel', () => {
  let env: VerifyEnv;
  let a: Published; // signed, linux-64 .conda
  let b: Published; // signed, noarch .tar.bz2
  let v1: Published; // signed, name shared with v2
  let v2: Published;
  let plain: Published; // no attestation, channel "plain"
  const trust = () => ['--trusted-root', env.rootFile];

  before(async () => {
    env = await startVerifyEnv();
    a = await env.publish();
    b = await env.publish({ subdir: 'noarch', format: '.tar.bz2' });
    v1 = await env.publish({ name: 'multi', version: '1.0' });
    v2 = await env.publish({ name: 'multi', version: '2.0' });
    plain = await env.publish({ channel: 'plain', attest: false });
  });
  after(() => env?.close());
  afterEach(() => {
    env.override = null;
  });

  const write = (name: string, text: string) => {
    const file = path.join(env.dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const lockPackage = (p: Published): LockPackage => ({ name: p.name, version: '1.0', build: 'h0_0', subdir: p.subdir, url: p.url, sha256: p.sha256, md5: p.md5, size: p.bytes.length });
  /** a policy trusting acme/widgets' release.yml in `signed`, and what else is asked */
  const policy = (extra = '', identity = 'repository = "acme/widgets"\nworkflow = "release.yml"') =>
    write(`policy-${Math.random().toString(36).slice(2)}.toml`, `[[channels]]\nurl = "${env.channelUrl()}"\n${extra}\n[[channels.identities]]\nissuer = "${GITHUB}"\n${identity}\n`);

  /** serves the subdir's repodata as repodata.json only, with `edit` applied to the records */
  async function editRepodata(subdir: string, edit: (records: Record<string, any>) => void, more: Record<string, Uint8Array | string | null> = {}) {
    const real = (await (await fetch(`${env.server.url}/signed/${subdir}/repodata.json`)).json()) as Record<string, any>;
    edit({ ...real.packages, ...real['packages.conda'] });
    const text = JSON.stringify(real);
    env.override = (p) => {
      if (p === `/signed/${subdir}/repodata_shards.msgpack.zst` || p === `/signed/${subdir}/repodata.json.zst`) return null;
      if (p === `/signed/${subdir}/repodata.json`) return text;
      return Object.hasOwn(more, p) ? more[p] : undefined;
    };
  }
  const sigsOf = async (p: Published) => new Uint8Array(await (await fetch(`${p.url}.sigs`)).arrayBuffer());
  const pathOf = (p: Published, suffix = '') => `${new URL(p.url).pathname}${suffix}`;

  describe('provena verify URL', () => {
    it('downloads the package, checks its record, sidecar, every bundle, targetChannel and its log entry', async () => {
      const r = await verify([a.url, ...trust(), ...ACME]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^verified ${a.url.replace(/[.]/g, '\\.')}: signed by acme/widgets/.github/workflows/release.yml@refs/heads/main; Rekor entry \\d+, targetChannel ${env.channelUrl()}, issuer ${GITHUB}, log entry \\d+ in 127.0.0.1:\\d+/log`));
      assert.match(r.out, /log 127.0.0.1:\d+\/log: consistent, size \d+; .* trusted on first use/);
      const j = JSON.parse((await verify([a.url, ...trust(), ...ACME, '--json'])).out);
      assert.equal(j.ok, true);
      assert.equal(j.packages[0].sha256, a.sha256);
      assert.equal(j.packages[0].log.status, 'verified');
      assert.equal(j.packages[0].bundles[0].signer.repository, 'https://github.com/acme/widgets');
    });

    it('with --record-only trusts the record instead of downloading, and still verifies everything else', async () => {
      let downloaded = false;
      env.override = (p) => {
        if (p === pathOf(a)) downloaded = true;
        return undefined;
      };
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 0, r.err);
      assert.equal(downloaded, false);
    });

    it('refuses a package whose served bytes are not the ones in the repodata record (sha256_mismatch)', async () => {
      env.override = (p) => (p === pathOf(a) ? 'other bytes' : undefined);
      const r = await verify([a.url, ...trust(), ...ACME]);
      assert.equal(r.code, 1);
      assert.match(r.err, /^FAILED .*: sha256: the downloaded file has [0-9a-f]{64}, the channel's repodata record says [0-9a-f]{64}/);
    });

    it('refuses a signer the flags do not name', async () => {
      const r = await verify([a.url, ...trust(), '--repo', 'acme/gadgets']);
      assert.equal(r.code, 1);
      assert.match(r.err, /signer is not trusted: repository expected "https:\/\/github.com\/acme\/gadgets", got "https:\/\/github.com\/acme\/widgets"/);
    });

    it('refuses a package without attestation (attestation_missing)', async () => {
      const r = await verify([plain.url, ...trust(), ...ACME]);
      assert.equal(r.code, 1);
      assert.match(r.err, /FAILED .*: no attestation: the repodata record lists none and no .v0.sigs is served \(policy: missing = "error"\)/);
    });

    it('exits 3 when the server cannot be reached', async () => {
      const r = await verify([`http://127.0.0.1:1/signed/linux-64/${a.filename}`, ...trust(), ...ACME]);
      assert.equal(r.code, 3);
      assert.match(r.err, /ERROR .*cannot reach http:\/\/127.0.0.1:1/);
    });
  });

  describe('provena verify --channel URL SPEC...', () => {
    it('verifies the newest record a match spec names, every one with --all, and a filename exactly', async () => {
      const newest = await verify(['--channel', env.channelUrl(), 'multi', '--subdir', 'linux-64', ...trust(), ...ACME, '--json']);
      assert.equal(newest.code, 0, newest.err);
      assert.deepEqual(JSON.parse(newest.out).packages.map((p: any) => p.filename), [v2.filename]);
      const all = await verify(['--channel', env.channelUrl(), 'multi', '--all', '--subdir', 'linux-64', ...trust(), ...ACME, '--json']);
      assert.deepEqual(JSON.parse(all.out).packages.map((p: any) => p.filename).sort(), [v1.filename, v2.filename].sort());
      const pinned = await verify(['--channel', env.channelUrl(), 'multi=1.0', b.filename, '--subdir', 'linux-64', '--subdir', 'noarch', ...trust(), ...ACME]);
      assert.equal(pinned.code, 0, pinned.err);
      assert.match(pinned.out, new RegExp(`${v1.filename} .* verified`));
      assert.match(pinned.out, new RegExp(`${b.filename.replace(/[.]/g, '\\.')} .* verified`));
      assert.match(pinned.out, /2 packages: 2 verified/);
    });

    it('fails a spec that matches nothing, and a policy that does not hold', async () => {
      const none = await verify(['--channel', env.channelUrl(), 'nosuchpackage', '--subdir', 'linux-64', ...trust(), ...ACME]);
      assert.equal(none.code, 1);
      assert.match(none.out, /nosuchpackage .* failed .* no package in .* matches "nosuchpackage"/);
      const wrong = await verify(['--channel', env.channelUrl(), 'multi', '--subdir', 'linux-64', ...trust(), '--policy', policy('', 'repository = "acme/*"\nworkflow = "deploy.yml"')]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.out, /failed .* workflow expected "deploy.yml" \(file name\), got ".github\/workflows\/release.yml"/);
    });
  });

  describe('provena verify-env over every lock file format', () => {
    const formats: [string, () => string][] = [
      ['explicit spec with sha256', () => explicitSpec([a, b].map(lockPackage), 'sha256')],
      ['explicit spec with md5', () => explicitSpec([a, b].map(lockPackage), 'md5')],
      ['pixi.lock v5', () => pixiLockV5([a, b].map(lockPackage))],
      ['pixi.lock v6', () => pixiLockV6([a, b].map(lockPackage))],
      ['pixi.lock v7', () => pixiLockV7([a, b].map(lockPackage))],
      ['conda-lock.yml', () => condaLockV1([a, b].map(lockPackage), ['linux-64', 'osx-arm64'])],
    ];
    for (const [name, text] of formats) {
      it(`${name}: every package verified, exit 0`, async () => {
        const lock = write(`lock-${name.replace(/\W+/g, '-')}`, text());
        const r = await verifyEnv([lock, '--policy', policy(), ...trust()]);
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        assert.match(r.out, /^PACKAGE\s+CHANNEL\s+VERDICT\s+SIGNER\s+REASON$/m);
        for (const p of [a, b]) assert.match(r.out, new RegExp(`^${p.filename.replace(/[.]/g, '\\.')}\\s+${env.channelUrl()}\\s+verified\\s+acme/widgets/.github/workflows/release.yml@refs/heads/main\\s+Rekor entry`, 'm'));
        assert.match(r.out, /2 packages: 2 verified/);
        assert.match(r.out, /policy .* holds for/);
      });
    }

    it('--json gives every package with its verdict, signer, reason, bundles and log entry', async () => {
      const lock = write('lock.json-run', pixiLockV6([a, b].map(lockPackage)));
      const r = await verifyEnv([lock, '--policy', policy(), ...trust(), '--json']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.equal(j.ok, true);
      assert.equal(j.format, 'pixi.lock v6');
      assert.deepEqual(j.summary, { verified: 2, failed: 0, warning: 0, ignored: 0, skipped: 0, error: 0 });
      assert.deepEqual(j.other_packages, [{ kind: 'pypi', count: 1 }]);
      assert.equal(j.packages[0].bundles[0].outcome, 'verified');
      assert.equal(j.packages[0].log.status, 'verified');
      assert.equal(j.logs[0].status, 'consistent');
    });

    it('the policy decides about unattested packages, unlisted channels and skipped channels', async () => {
      const lock = write('mixed.txt', explicitSpec([a, plain].map(lockPackage), 'sha256'));
      const strict = await verifyEnv([lock, '--policy', policy(), ...trust()]);
      assert.equal(strict.code, 1, 'plain is in no policy entry: unlisted_channels = "error"');
      assert.match(strict.out, new RegExp(`${plain.filename} .* failed .* no policy entry covers ${env.channelUrl('plain')} \\(policy: unlisted_channels = "error"\\)`));
      assert.match(strict.out, /does NOT hold/);

      const plainEntry = (missing: string) =>
        write(`plain-${missing}.toml`, `[[channels]]\nurl = "${env.channelUrl()}"\n[[channels.identities]]\nissuer = "${GITHUB}"\nrepository = "acme/widgets"\n[[channels]]\nurl = "${env.channelUrl('plain')}"\nmissing = "${missing}"\n[[channels.identities]]\nissuer = "${GITHUB}"\nrepository = "acme/widgets"\n`);
      const err = await verifyEnv([lock, '--policy', plainEntry('error'), ...trust()]);
      assert.equal(err.code, 1);
      assert.match(err.out, /failed .* no attestation: .* \(policy: missing = "error"\)/);
      const warn = await verifyEnv([lock, '--policy', plainEntry('warn'), ...trust()]);
      assert.equal(warn.code, 0, warn.out);
      assert.match(warn.out, /warning .* \(policy: missing = "warn"\)/);
      const ignore = await verifyEnv([lock, '--policy', plainEntry('ignore'), ...trust()]);
      assert.equal(ignore.code, 0);
      assert.match(ignore.out, /ignored .* \(policy: missing = "ignore"\)/);
      const skip = write('skip.toml', `unlisted_channels = "error"\n[[channels]]\nurl = "${env.url}"\nskip = true\n`);
      const skipped = await verifyEnv([lock, '--policy', skip, ...trust()]);
      assert.equal(skipped.code, 0);
      assert.match(skipped.out, /2 packages: 2 skipped/);
    });

    it('fails when the policy names another identity, one line per package', async () => {
      const lock = write('wrong-id.lock', pixiLockV6([a, b].map(lockPackage)));
      const r = await verifyEnv([lock, '--policy', policy('', 'repository = "acme/widgets"\nref = "refs/tags/v*"'), ...trust()]);
      assert.equal(r.code, 1);
      const lines = r.out.split('\n').filter((l) => / failed /.test(l));
      assert.equal(lines.length, 2);
      for (const l of lines) assert.match(l, /signer is not trusted: ref expected "refs\/tags\/v\*" \(glob\), got "refs\/heads\/main"/);
    });

    it('fails a package whose lock file digest is not the channel\'s (sha256_mismatch, md5_mismatch)', async () => {
      const sha = write('bad-sha.txt', explicitSpec([{ ...lockPackage(a), sha256: '0'.repeat(64) }], 'sha256'));
      const r = await verifyEnv([sha, '--policy', policy(), ...trust()]);
      assert.equal(r.code, 1);
      assert.match(r.out, /failed .* sha256: the lock file has 0{64}, the channel's repodata record says [0-9a-f]{64}/);
      const md5 = write('bad-md5.txt', explicitSpec([{ ...lockPackage(a), md5: '0'.repeat(32) }], 'md5'));
      const m = await verifyEnv([md5, '--policy', policy(), ...trust()]);
      assert.equal(m.code, 1);
      assert.match(m.out, /md5: the lock file has 0{32}/);
    });

    it('refuses bad input with exit 2: unreadable lock file, bad policy, no --policy', async () => {
      const lock = write('ok.txt', explicitSpec([lockPackage(a)], 'sha256'));
      assert.equal((await verifyEnv(['/nonexistent.lock', '--policy', policy(), ...trust()])).code, 2);
      assert.equal((await verifyEnv([write('bad.lock', 'not a lock\n'), '--policy', policy(), ...trust()])).code, 2);
      const badPolicy = await verifyEnv([lock, '--policy', write('bad.toml', '[[channels]]\nurl = "x"\n'), ...trust()]);
      assert.equal(badPolicy.code, 2);
      assert.match(badPolicy.err, /channels\[0\]\.url: expected an http\(s\) URL/);
      assert.equal((await verifyEnv([lock, ...trust()])).code, 2);
    });

    it('exits 3 when a channel cannot be reached, with the package marked error', async () => {
      const gone = { ...lockPackage(a), url: `http://127.0.0.1:1/signed/linux-64/${a.filename}` };
      const lock = write('gone.txt', explicitSpec([gone], 'sha256'));
      const p = write('gone.toml', `[[channels]]\nurl = "http://127.0.0.1:1/signed"\n[[channels.identities]]\nissuer = "${GITHUB}"\nrepository = "acme/widgets"\n`);
      const r = await verifyEnv([lock, '--policy', p, ...trust()]);
      assert.equal(r.code, 3);
      assert.match(r.out, /error .* cannot reach http:\/\/127.0.0.1:1/);
    });

    it('runs as `provena verify-env` from the command line', async () => {
      const lock = write('cli.lock', pixiLockV6([a].map(lockPackage)));
      const r = await provena(['verify-env', lock, '--policy', policy(), ...trust()]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /1 package: 1 verified/);
    });
  });

  describe('no check skipped silently: what a dishonest channel serves', () => {
    it('a sidecar that is not the one repodata names (attestations_sha256_mismatch)', async () => {
      const other = await sigsOf(b);
      env.override = (p) => (p === pathOf(a, '.sigs') ? other : undefined);
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1);
      assert.match(r.err, /FAILED .*: .*\.conda\.sigs: expected sha256 [0-9a-f]{64} \(repodata attestations_sha256\), got [0-9a-f]{64}/);
    });

    it('a bundle for another file, even with repodata rebound to it (subject_name)', async () => {
      const other = await sigsOf(b);
      await editRepodata('linux-64', (records) => {
        records[a.filename].attestations_sha256 = sha256(other);
      }, { [pathOf(a, '.sigs')]: other });
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`bundle 1: subject_name: subject\\[0\\].name: expected ${a.filename.replace(/[.]/g, '\\.')}, got "${b.filename.replace(/[.]/g, '\\.')}"`));
    });

    it('an unreadable sidecar (sidecar_unreadable), and a missing one the record promises (sidecar_missing)', async () => {
      const junk = '[{"mediaType": "nope"}]';
      await editRepodata('linux-64', (records) => {
        records[a.filename].attestations_sha256 = sha256(Buffer.from(junk));
      }, { [pathOf(a, '.sigs')]: junk });
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1);
      assert.match(r.err, /is not a readable list of Sigstore bundles: attestation_media_type/);
      env.override = (p) => (p === pathOf(a, '.sigs') || p === pathOf(a, '.v0.sigs') ? null : undefined);
      const missing = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /sidecar_missing|lists attestations \(attestations_sha256 [0-9a-f]{64}\) but .*\.sigs is not served/);
    });

    it('a bundle of another predicate type: an error, a warning or ignored, as the policy says', async () => {
      const slsa = await env.stack.signAttestation({
        filename: a.filename, sha256: a.sha256, identity: 'github', tokenOverrides: { iss: GITHUB },
        statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: a.filename, digest: { sha256: a.sha256 } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: { buildDefinition: {} } },
      });
      const sidecar = Buffer.from(`[${a.bundle},${slsa}]`);
      await editRepodata('linux-64', (records) => {
        records[a.filename].attestations_sha256 = sha256(sidecar);
      }, { [pathOf(a, '.sigs')]: sidecar });
      const lock = write('predicate.txt', explicitSpec([lockPackage(a)], 'sha256'));
      const run = (mode: string) => verifyEnv([lock, '--policy', policy(`unknown_predicate = "${mode}"\ntransparency_log = "ignore"`), ...trust()]);
      const error = await run('error');
      assert.equal(error.code, 1);
      assert.match(error.out, /failed .* bundle 2: predicate_type: predicateType: expected https:\/\/schemas.conda.org\/attestations-publish-1.schema.json, got "https:\/\/slsa.dev\/provenance\/v1" \(policy: unknown_predicate = "error"\)/);
      const warn = await run('warn');
      assert.equal(warn.code, 0, warn.out);
      assert.match(warn.out, /warning\s+acme\/widgets/);
      const ignore = await run('ignore');
      assert.equal(ignore.code, 0);
      assert.match(ignore.out, /verified\s+acme\/widgets/);
      // the served sidecar is not the one the server logged: the log check says so
      const logged = await verifyEnv([lock, '--policy', policy('unknown_predicate = "ignore"'), ...trust()]);
      assert.equal(logged.code, 1);
      assert.match(logged.out, /log_entry_mismatch: log entry \d+: attestation_sha256 expected "[0-9a-f]{64}", got "[0-9a-f]{64}"/);
    });

    it('a sidecar without attestations_sha256 (prefix.dev serves .v0.sigs only) is verified and said to be unbound', async () => {
      await editRepodata('linux-64', (records) => {
        delete records[a.filename].attestations_sha256;
      }, { [pathOf(a, '.sigs')]: null });
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /note: the sidecar is not bound by the repodata record \(no attestations_sha256\)/);
    });

    it('a shard that is not the one the shard index names (repodata_shard_mismatch)', async () => {
      const index = `/signed/linux-64/shards/`;
      env.override = (p) => (p.startsWith(index) ? 'tampered shard' : undefined);
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1);
      assert.match(r.err, /repodata_shard_mismatch|expected sha256 [0-9a-f]{64} \(the shard index\)/);
    });

    it('a receipt of another file (log_entry_mismatch), and a log that is not served', async () => {
      const otherReceipt = await (await fetch(`${b.url}.receipt.json`)).text();
      env.override = (p) => (p === pathOf(a, '.receipt.json') ? otherReceipt : undefined);
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(r.code, 1);
      assert.match(r.err, /log_entry_mismatch: log entry \d+: subdir expected "linux-64", got "noarch"/);

      env.override = (p) => (p.startsWith('/log/') || p.endsWith('.receipt.json') ? null : undefined);
      const noLog = await verify([a.url, ...trust(), ...ACME, '--record-only']);
      assert.equal(noLog.code, 0, noLog.err);
      assert.match(noLog.out, /note: .* serves no transparency log/);
      const required = await verify([a.url, ...trust(), '--record-only', '--policy', policy('transparency_log = "require"')]);
      assert.equal(required.code, 1);
      assert.match(required.err, /serves no transparency log \(policy: transparency_log = "require"\)/);
    });
  });

  describe('--log-state: the log must extend what the user saw last time', () => {
    it('remembers the log key and checkpoint, and raises an alarm for a fork or another key', async () => {
      const state = path.join(env.dir, 'log-state.json');
      const first = await verify([a.url, ...trust(), ...ACME, '--record-only', '--log-state', state]);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /trusted on first use/);
      const saved = JSON.parse(fs.readFileSync(state, 'utf8'));
      const origin = Object.keys(saved.logs)[0]!;
      assert.match(origin, /^127\.0\.0\.1:\d+\/log$/);

      await env.publish(); // the log grows
      const second = await verify([b.url, ...trust(), ...ACME, '--record-only', '--log-state', state]);
      assert.equal(second.code, 0, second.err);
      assert.match(second.out, /including the one remembered, size \d+\) \(key remembered\)/);
      const grown = JSON.parse(fs.readFileSync(state, 'utf8'));
      assert.ok(parseCheckpoint(parseNote(grown.logs[origin].checkpoint).text).size > parseCheckpoint(parseNote(saved.logs[origin].checkpoint).text).size);

      // a checkpoint of the same size with another root, signed by the log's own key: a fork
      const keyText = fs.readFileSync(path.join(env.server.dataDir, 'log-key'), 'utf8').trim();
      const current = parseCheckpoint(parseNote(grown.logs[origin].checkpoint).text);
      const forked = signCheckpoint({ ...current, root: new Uint8Array(32).fill(7) }, [noteSigner(keyText)]);
      fs.writeFileSync(state, JSON.stringify({ version: 1, logs: { [origin]: { key: grown.logs[origin].key, checkpoint: forked } } }));
      const fork = await verify([a.url, ...trust(), ...ACME, '--record-only', '--log-state', state]);
      assert.equal(fork.code, 1);
      assert.match(fork.err, /ALARM log_fork: .*size \d+/);
      assert.equal(JSON.parse(fs.readFileSync(state, 'utf8')).logs[origin].checkpoint, forked, 'the state is not advanced on an alarm');

      // the state remembers another key for this log: the server's checkpoints do not verify with it
      const stranger = generateSignerKey(origin);
      const strangerCheckpoint = signCheckpoint(current, [noteSigner(stranger)]);
      fs.writeFileSync(state, JSON.stringify({ version: 1, logs: { [origin]: { key: formatVerifierKey(verifierKeyOf(stranger)), checkpoint: strangerCheckpoint } } }));
      const rekeyed = await verify([a.url, ...trust(), ...ACME, '--record-only', '--log-state', state]);
      assert.equal(rekeyed.code, 1);
      assert.match(rekeyed.err, /log_signature_invalid: the latest checkpoint of .* is not validly signed/);
    });

    it('a pinned --log-key that is not the log\'s key fails every package', async () => {
      const url = new URL(env.url);
      const stranger = formatVerifierKey(verifierKeyOf(generateSignerKey(`${url.host}/log`)));
      const r = await verify([a.url, ...trust(), ...ACME, '--record-only', '--log-key', stranger]);
      assert.equal(r.code, 1);
      assert.match(r.err, /log_signature_invalid/);
      const served = (await (await fetch(`${env.url}/log/key`)).text()).trim();
      const pinned = await verify([a.url, ...trust(), ...ACME, '--record-only', '--log-key', served]);
      assert.equal(pinned.code, 0, pinned.err);
      assert.match(pinned.out, /\(key pinned\)/);
    });
  });
});
