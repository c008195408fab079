/**
 * Issue 6: what `provena verify-env` costs per package. A real Provena (the stack's trusted root)
 * serves N attested packages (signed by the local Sigstore stack, accepted at upload, logged); an
 * explicit spec pins them all. verify-env runs in this process over HTTP to that server — repodata,
 * `.sigs`, receipts, the log — and verifies every bundle, statement, signer and log entry.
 * Baseline: one bare @sigstore/verify call per bundle (bundleFromJSON + toSignedEntity +
 * Verifier.verify, no policy), same bundles, same process. Target: ≤ 1.5× per package.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { Io } from '../../src/adapters/cli/cli-io.ts';
import { verifyEnvCommand } from '../../src/adapters/cli/verify-env-command.ts';
import { makePackage } from '../../test/support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer } from '../../test/support/server.ts';
import { startSigstoreStack } from '../../test/support/sigstore-stack/index.ts';
import { sha256Hex, uploadMultipart } from '../../test/support/upload.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';

const TARGET = 1.5;
const GITHUB = 'https://token.actions.githubusercontent.com';

export const verifyEnvSection: Section = {
  id: 'verify-env',
  title: 'verify-env: per-package cost vs one raw @sigstore/verify call',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    const count = quick ? 40 : 500;
    const rounds = quick ? 1 : 3;
    const s = newSection(this.id, this.title, 'raw @sigstore/verify');
    if (ctx.provenaMissing) {
      s.skipped = ctx.provenaMissing;
      return s;
    }
    const dir = join(ctx.tmpRoot, 'verify-env');
    const stack = await startSigstoreStack();
    ctx.onCleanup(() => stack.close());
    const rootFile = join(ctx.tmpRoot, 'verify-env-trusted_root.json');
    writeFileSync(rootFile, stack.trustedRootJson);
    const server = await startServer({ dataDir: dir, args: ['--trusted-root', rootFile] });
    ctx.onCleanup(async () => {
      await server.stop();
    });
    await api(server, 'POST', '/api/v1/channels', { name: 'bench' });
    await api(server, 'POST', '/api/v1/channels/bench/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    const channelUrl = `${server.url}/bench`;

    // N attested packages; the setup is not timed
    const t0 = performance.now();
    const lines: string[] = [];
    const bundles: string[] = [];
    const subdirs = ['linux-64', 'noarch'];
    for (let i = 0; i < count; i++) {
      const subdir = subdirs[i % 2]!;
      const name = `benchpkg${i}`;
      const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir, format: '.conda', ...(subdir === 'noarch' ? { noarch: 'generic' } : {}) });
      const filename = `${name}-1.0-h0_0.conda`;
      const sha = sha256Hex(bytes);
      const bundle = await stack.signAttestation({ filename, sha256: sha, targetChannel: channelUrl, identity: 'github', tokenOverrides: { iss: GITHUB } });
      const res = await uploadMultipart(server, 'bench', filename, bytes, { token: ADMIN_TOKEN, attestation: bundle });
      if (res.status !== 201) throw new Error(`upload ${filename}: ${res.status} ${JSON.stringify(res.json)}`);
      bundles.push(bundle);
      lines.push(`${channelUrl}/${subdir}/${filename}#${sha}`);
    }
    ctx.log(`verify-env: ${count} attested packages signed and uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const lock = join(ctx.tmpRoot, 'verify-env-explicit.txt');
    writeFileSync(lock, `# platform: linux-64\n@EXPLICIT\n${lines.join('\n')}\n`);
    const policy = join(ctx.tmpRoot, 'verify-env-policy.toml');
    writeFileSync(policy, `[[channels]]\nurl = "${channelUrl}"\ntransparency_log = "require"\n[[channels.identities]]\nissuer = "${GITHUB}"\nrepository = "acme/widgets"\nworkflow = "release.yml"\n`);

    let output: string[] = [];
    const io: Io = { out: (l) => output.push(l), err: (l) => output.push(l), errStream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream };
    const runVerifyEnv = async (): Promise<number> => {
      output = [];
      const start = performance.now();
      const code = await verifyEnvCommand([lock, '--policy', policy, '--trusted-root', rootFile], {}, io);
      if (code !== 0) throw new Error(`verify-env exited ${code}:\n${output.filter((l) => !/ verified /.test(l)).slice(0, 20).join('\n')}`);
      return (performance.now() - start) / count;
    };
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(stack.trustedRootJson))));
    const raw = (): number => {
      const start = performance.now();
      for (const b of bundles) verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(b))));
      return (performance.now() - start) / count;
    };
    raw(); // warm-up both sides once
    await runVerifyEnv();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    let best = { provena: Infinity, raw: Infinity };
    try {
      for (let r = 0; r < rounds; r++) best = { provena: Math.min(best.provena, await runVerifyEnv()), raw: Math.min(best.raw, raw()) };
    } finally {
      clearInterval(sampler);
    }
    const rssGrowth = Math.max(0, rssPeak - rssBefore) / 1e6;
    ctx.log(`verify-env: ${best.provena.toFixed(2)} ms per package, raw @sigstore/verify ${best.raw.toFixed(2)} ms per bundle`);

    s.setup.push(
      `${count} attested packages (half linux-64, half noarch) on a local Provena; an explicit spec with sha256 pins them all`,
      'Provena: `verify-env LOCKFILE --policy POLICY` in-process over HTTP (8 jobs): repodata (whole repodata.json.zst, as most of each subdir is wanted), .sigs, every bundle (crypto, statement, identity glob), receipts and log consistency',
      'raw: bundleFromJSON + toSignedEntity + Verifier.verify per bundle, no policy, no network; trust material built once',
      `best of ${rounds} runs each after one warm-up; the server runs on the same machine`,
    );
    s.rows.push(makeRow(`verify-env of ${count} packages: total`, 's', (best.provena * count) / 1000, null, null, false));
    s.rows.push(makeRow('per package', 'ms', best.provena, best.raw, null, false));
    s.rows.push(makeRow('per package: Provena ÷ raw', '×', best.provena / best.raw, null, { kind: 'max', value: TARGET }));
    s.rows.push(makeRow('bench process peak RSS above its level before the runs', 'MB', rssGrowth, null, null, false));
    s.details = { count, rounds, perPackageMs: best.provena, rawPerBundleMs: best.raw };
    return s;
  },
};
