import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAttestation } from '../../../src/core/attest/bundle.ts';
import { verifyBundle } from '../../../src/core/attest/sigstore-verify.ts';
import { checkPublishStatement } from '../../../src/core/attest/statement.ts';
import type { SigstoreTrustRoot } from '../../../src/core/attest/trust-root.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { actionlint, editJson, flipDecoded, staging, trustRoots } from './fixtures.ts';

/**
 * Changing any byte of a real bundle must make it fail, as a refusal (a ProvenaError with a code), never
 * as a crash. Positions are spread over the whole file; each byte is XORed with 0x01, which keeps most
 * characters printable (so the JSON often still parses and the change reaches the cryptography) and never
 * turns JSON whitespace into other JSON whitespace.
 */
type Vector = { bytes: Buffer; root: SigstoreTrustRoot; expect: { filename: string; sha256: string; channelUrl: string } };

function outcome(bytes: Uint8Array, v: Vector): string {
  try {
    const verified = verifyBundle(parseAttestation(bytes), [v.root]);
    checkPublishStatement(verified.payloadType, verified.payload, v.expect);
    return 'verified';
  } catch (e) {
    if (!isProvenaError(e)) return `crash: ${(e as Error)?.stack ?? String(e)}`;
    assert.equal(e.kind, 'unprocessable', `${e.code} is a refusal`);
    return e.code;
  }
}

/** 200 positions: evenly spread, each nudged by a fixed pseudo-random offset so runs are reproducible. */
function positions(length: number, count = 200): number[] {
  let seed = 0x2545f491;
  const out = new Set<number>();
  for (let k = 0; k < count; k++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out.add(Math.min(length - 1, Math.floor((k * length) / count) + (seed % Math.max(1, Math.floor(length / count)))));
  }
  return [...out];
}

/**
 * The one part of a bundle nobody can check: cosignatures on the checkpoint from witnesses whose keys are
 * not in trusted_root.json (the format has no place for them). Returns their byte ranges in the file.
 */
function unverifiableWitnessLines(bytes: Buffer, logHost: string): [number, number][] {
  const envelope: string = JSON.parse(bytes.toString()).verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope;
  const lines = envelope.split('\n').filter((l) => l.startsWith('\u2014 ') && !l.startsWith(`\u2014 ${logHost} `));
  return lines.map((line) => {
    const encoded = Buffer.from(JSON.stringify(line).slice(1, -1));
    const at = bytes.indexOf(encoded);
    assert.ok(at > 0 && bytes.indexOf(encoded, at + 1) < 0, 'each witness line occurs once');
    return [at, at + encoded.length];
  });
}

function sweep(v: Vector, skip: [number, number][] = []) {
  assert.equal(outcome(v.bytes, v), 'verified', 'the unchanged vector verifies');
  const codes = new Map<string, number>();
  let tried = 0;
  for (const i of positions(v.bytes.length)) {
    if (skip.some(([a, b]) => i >= a && i < b)) continue;
    const b = Buffer.from(v.bytes);
    b[i] = b[i]! ^ 0x01;
    const code = outcome(b, v);
    assert.ok(!code.startsWith('crash'), `byte ${i}: ${code}`);
    assert.notEqual(code, 'verified', `byte ${i} (${JSON.stringify(v.bytes.subarray(i - 20, i + 20).toString())}) changed, yet it verified`);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    tried++;
  }
  assert.ok(tried >= 180, `${tried} positions tried`);
  // The sample reaches well past parsing: the cryptographic checks themselves refuse many changes.
  assert.ok(codes.size >= 5, `refused for several reasons: ${[...codes.keys()].join(', ')}`);
  return codes;
}

const vectors = () => {
  const { publicGood, staging: stagingRoot } = trustRoots();
  const pg: Vector = { bytes: actionlint.sidecar, root: publicGood, expect: actionlint };
  const st: Vector = { bytes: staging.bundle, root: stagingRoot, expect: staging };
  return { pg, st };
};

describe('changing any byte of a real bundle', () => {
  it('public-good actionlint sidecar: 200 positions, all refused', () => {
    const codes = sweep(vectors().pg);
    assert.ok(codes.has('signature_invalid') && codes.has('tlog_set_invalid') && codes.has('untrusted_certificate'), [...codes.keys()].join());
  });

  it('staging Rekor v2 bundle: 200 positions, all refused (witness cosignatures aside, see below)', () => {
    const { st } = vectors();
    const codes = sweep(st, unverifiableWitnessLines(st.bytes, 'log2025-alpha3.rekor.sigstage.dev'));
    assert.ok(codes.has('signature_invalid') && codes.has('tlog_inclusion_proof_invalid') && codes.has('timestamp_invalid'), [...codes.keys()].join());
  });

  it('documented limit: a witness cosignature (key not in any trusted root) cannot be checked', () => {
    const { st } = vectors();
    const ranges = unverifiableWitnessLines(st.bytes, 'log2025-alpha3.rekor.sigstage.dev');
    assert.equal(ranges.length, 3, 'three witnesses cosigned the staging checkpoint');
    // The log's own signature line is checked; only the lines of the three witnesses are not.
    for (const [start, end] of ranges) {
      for (const i of [start + 4, end - 10]) {
        const b = Buffer.from(st.bytes);
        b[i] = b[i]! ^ 0x01; // a letter of the witness name, a letter of its signature
        assert.equal(outcome(b, st), 'verified', JSON.stringify(st.bytes.subarray(i - 5, i + 5).toString()));
      }
    }
  });

  it('changing decoded bytes of every binary field is refused too', () => {
    const { pg, st } = vectors();
    const fields: [string, (j: any) => { get(): string; set(v: string): void }][] = [
      ['payload', (j) => at(j.dsseEnvelope, 'payload')],
      ['signature', (j) => at(j.dsseEnvelope.signatures[0], 'sig')],
      ['certificate', (j) => at(j.verificationMaterial.certificate, 'rawBytes')],
      ['log body', (j) => at(j.verificationMaterial.tlogEntries[0], 'canonicalizedBody')],
      ['log id', (j) => at(j.verificationMaterial.tlogEntries[0].logId, 'keyId')],
      ['root hash', (j) => at(j.verificationMaterial.tlogEntries[0].inclusionProof, 'rootHash')],
      ['proof hash', (j) => at(j.verificationMaterial.tlogEntries[0].inclusionProof.hashes, 0)],
      ['RFC 3161 token', (j) => at(j.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0], 'signedTimestamp')],
    ];
    for (const [v, extra] of [[pg, [['SET', (j: any) => at(j.verificationMaterial.tlogEntries[0].inclusionPromise, 'signedEntryTimestamp')]]], [st, []]] as const) {
      for (const [name, field] of [...fields, ...extra]) {
        const length = Buffer.from(field(JSON.parse(bundleOf(v))).get(), 'base64').length;
        for (let k = 0; k < 12; k++) {
          const index = Math.floor((k * length) / 12);
          const changed = editJson(Buffer.from(bundleOf(v)), (j) => {
            const f = field(j);
            f.set(flipDecoded(f.get(), index));
          });
          const code = outcome(changed, v);
          assert.ok(code !== 'verified' && !code.startsWith('crash'), `${name} byte ${index}/${length}: ${code}`);
        }
      }
    }
  });
});

function bundleOf(v: Vector): string {
  const text = v.bytes.toString();
  return text.startsWith('[') ? JSON.stringify(JSON.parse(text)[0]) : text;
}

function at(obj: any, key: string | number) {
  return { get: (): string => obj[key], set: (value: string) => (obj[key] = value) };
}
