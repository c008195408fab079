/**
 * Issue 3: what verifying an attestation costs the server. The same bundle is verified by Provena's
 * full upload check (Sigstore crypto + CEP-27 statement + Trusted Publisher identity) and by a bare
 * @sigstore/verify call, alternating, in one process: the ratio is the cost of everything Provena adds.
 * Two bundles: one signed by the local Sigstore stack (Rekor v1 + RFC 3161), and the real public-good
 * actionlint bundle. Target: ≤ 1.2× raw @sigstore/verify.
 * Then what an attestation costs an upload end to end (upload-throughput.ts): the same packages to the same
 * server, with their bundle and without, alternating; reported as the ratio, no target.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { buildTrustRoot } from '../../src/core/attest/trust-root.ts';
import { verifyPackageAttestation } from '../../src/core/attest/verify-attestation.ts';
import type { TrustedPublisher } from '../../src/core/publish/publisher.ts';
import { publicGoodTrustRoot } from '../../src/adapters/sigstore/trusted-roots.ts';
import { startSigstoreStack } from '../../test/support/sigstore-stack/index.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { PROJECT_ROOT } from '../lib/provena-process.ts';
import { measureUploadThroughput } from './attest-upload.ts';

const TARGET = 1.2;
const GITHUB = 'https://token.actions.githubusercontent.com';

interface Case {
  label: string;
  bundle: string;
  rootJson: unknown;
  filename: string;
  sha256: string;
  channelUrl: string;
  publisher: TrustedPublisher;
}

export const attestSection: Section = {
  id: 'attest',
  title: 'Attestation verification: Provena vs raw @sigstore/verify (same bundle)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    // Many short rounds, each timing both sides back to back (the order alternating), and the median of the
    // per-round ratios: on a shared, loaded machine a slow spell then hits both sides of one ratio, where
    // best-of-each-side compared two unrelated lucky moments.
    const perRound = quick ? 10 : 20;
    const rounds = quick ? 10 : 40;
    const s = newSection(this.id, this.title, 'raw @sigstore/verify');
    s.setup.push(
      `${rounds} rounds of ${perRound} verifications each way, back to back with the order alternating, one process; ratio = median of the per-round ratios, ms = median per round`,
      'Provena: verifyPackageAttestation (parse, crypto, statement, identity); raw: bundleFromJSON + toSignedEntity + Verifier.verify without policy',
      'trust material built once for both',
    );
    const cases = await buildCases();
    for (const c of cases) {
      const ours = buildTrustRoot(c.rootJson, c.label);
      const raw = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(c.rootJson)));
      const bytes = Buffer.from(c.bundle);
      const provena = () =>
        verifyPackageAttestation({ bundleBytes: bytes, filename: c.filename, sha256: c.sha256, channelUrl: c.channelUrl, publishers: [c.publisher], trust: [ours] });
      const bare = () => raw.verify(toSignedEntity(bundleFromJSON(JSON.parse(c.bundle))));
      provena(); // both must succeed before they are timed
      bare();
      for (let i = 0; i < perRound; i++) (provena(), bare()); // warm both before timing
      const provenaMs: number[] = [];
      const rawMs: number[] = [];
      const ratios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        let p: number;
        let b: number;
        if (r % 2 === 0) {
          p = timeEach(provena, perRound);
          b = timeEach(bare, perRound);
        } else {
          b = timeEach(bare, perRound);
          p = timeEach(provena, perRound);
        }
        provenaMs.push(p);
        rawMs.push(b);
        ratios.push(p / b);
      }
      const ratio = median(ratios);
      ctx.log(`attest ${c.label}: provena ${median(provenaMs).toFixed(2)} ms, raw ${median(rawMs).toFixed(2)} ms, ratio ${ratio.toFixed(3)} (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
      s.rows.push(makeRow(`${c.label}: ms per bundle`, 'ms', median(provenaMs), median(rawMs), null, false));
      s.rows.push(makeRow(`${c.label}: Provena ÷ raw`, '×', ratio, null, { kind: 'max', value: TARGET }));
      s.details = { ...s.details, [c.label]: { ratios, provenaMs, rawMs } };
    }
    const upload = await measureUploadThroughput(ctx, quick);
    s.setup.push(...upload.setup);
    s.rows.push(
      makeRow('uploads/s with attestation (baseline: same uploads without)', 'uploads/s', upload.with, upload.without, null),
      makeRow('upload time with ÷ without attestation', '×', upload.without / upload.with, null, null),
    );
    s.details = { ...s.details, uploadThroughput: upload };
    return s;
  },
};

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timeEach(fn: () => unknown, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}

async function buildCases(): Promise<Case[]> {
  const stack = await startSigstoreStack();
  try {
    const filename = 'bench-1.0-h0_0.conda';
    const sha256 = 'ab'.repeat(32);
    const channelUrl = 'https://conda.example.org/bench';
    const bundle = await stack.signAttestation({ filename, sha256, targetChannel: channelUrl, identity: 'github', tokenOverrides: { iss: GITHUB } });
    const publisher: TrustedPublisher = { id: 'pub', channel: 'bench', createdAt: '', kind: 'github', repository: 'acme/widgets', workflow: 'release.yml', environment: null };
    const sigs = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/core/attest/vectors/actionlint-1.7.12-h60d57d3_0.conda.v0.sigs'), 'utf8')) as unknown[];
    const real = JSON.stringify(sigs[0]);
    const statement = JSON.parse(Buffer.from((sigs[0] as any).dsseEnvelope.payload, 'base64').toString('utf8'));
    return [
      { label: 'local stack bundle', bundle, rootJson: JSON.parse(stack.trustedRootJson), filename, sha256, channelUrl, publisher },
      {
        label: 'public-good actionlint bundle',
        bundle: real,
        rootJson: publicGoodRootJson(),
        filename: statement.subject[0].name,
        sha256: statement.subject[0].digest.sha256,
        channelUrl: statement.predicate.targetChannel,
        publisher: { ...publisher, repository: 'hunger/octoconda', workflow: workflowOf(sigs[0]) },
      },
    ];
  } finally {
    await stack.close();
  }
}

function publicGoodRootJson(): unknown {
  publicGoodTrustRoot(); // fails loudly if the embedded root is missing
  const seeds = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/@sigstore/tuf/seeds.json'), 'utf8'));
  return JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8'));
}

/** The workflow file the real bundle's certificate names (its build config URI). */
function workflowOf(bundle: any): string {
  const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64').toString('latin1');
  const m = /\.github\/workflows\/([A-Za-z0-9._-]+\.ya?ml)@/.exec(der);
  if (!m) throw new Error('no workflow in the actionlint certificate');
  return m[1]!;
}
