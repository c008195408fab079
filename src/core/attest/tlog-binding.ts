import type { TransparencyLogEntry } from '@sigstore/bundle';
import { crypto } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { unprocessable } from '../errors.ts';

/**
 * Checks @sigstore/verify leaves out, so that no field of a log entry is taken on faith:
 * - the logged body names the bundle's certificate (not just its signature and digest);
 * - the checkpoint is signed by the very log the entry names, and agrees with the proof's treeSize and
 *   rootHash (@sigstore/verify reads those from the checkpoint and never looks at the proof's copies);
 * - without a signed entry timestamp, nothing vouches for logIndex or integratedTime, so they must agree
 *   with the inclusion proof (Rekor v2 writes them so) or be absent.
 * Run after @sigstore/verify accepted the entry.
 */
export function checkTlogEntryBinding(entry: TransparencyLogEntry, leafDer: Buffer, material: TrustMaterial, at: string): void {
  checkBodyNamesCertificate(entry, leafDer, at);
  const proof = entry.inclusionProof;
  if (proof !== undefined) {
    const log = material.tlogs.find((t) => t.logID.equals(entry.logId.keyId));
    if (log === undefined) fail('tlog_checkpoint_invalid', `${at}.logId`, 'a log of the trusted root', entry.logId.keyId.toString('base64'));
    const checkpoint = parseCheckpoint(proof.checkpoint?.envelope ?? '', `${at}.inclusionProof.checkpoint`);
    const host = new URL(log.baseURL).host;
    const own = checkpoint.signatures.find((s) => s.name === host && s.keyHint.equals(log.logID.subarray(0, 4)));
    if (own === undefined || !crypto.verify(Buffer.from(checkpoint.note, 'utf8'), log.publicKey, own.signature)) {
      fail('tlog_checkpoint_invalid', `${at}.inclusionProof.checkpoint`, `a valid signature by ${host}`, own ? 'a bad signature' : 'none');
    }
    if (checkpoint.size !== proof.treeSize) fail('tlog_inclusion_proof_invalid', `${at}.inclusionProof.treeSize`, checkpoint.size, proof.treeSize);
    if (!checkpoint.rootHash.equals(proof.rootHash)) {
      fail('tlog_inclusion_proof_invalid', `${at}.inclusionProof.rootHash`, checkpoint.rootHash.toString('base64'), proof.rootHash.toString('base64'));
    }
  }
  if (entry.inclusionPromise === undefined) {
    if (entry.integratedTime !== '0' && entry.integratedTime !== '') {
      fail('tlog_entry_inconsistent', `${at}.integratedTime`, 'absent without a signed entry timestamp', entry.integratedTime);
    }
    if (proof === undefined || entry.logIndex !== proof.logIndex) {
      fail('tlog_entry_inconsistent', `${at}.logIndex`, `the inclusion proof's index ${proof?.logIndex ?? '(none)'}`, entry.logIndex);
    }
  }
}

/** Every Rekor body kind names the signing certificate somewhere; it must be the bundle's leaf. */
function checkBodyNamesCertificate(entry: TransparencyLogEntry, leafDer: Buffer, at: string): void {
  const body = JSON.parse(entry.canonicalizedBody.toString('utf8')) as Body;
  const spec = body.spec ?? {};
  const candidates: unknown[] = [
    spec.signatures?.[0]?.verifier, // dsse 0.0.1 (base64 PEM)
    spec.signature?.publicKey?.content, // hashedrekord 0.0.1 (base64 PEM)
    spec.hashedRekordV002?.signature?.verifier?.x509Certificate?.rawBytes, // hashedrekord 0.0.2 (base64 DER)
    spec.dsseV002?.verifiers?.[0]?.x509Certificate?.rawBytes, // dsse 0.0.2 (base64 DER)
    spec.content?.envelope?.signatures?.[0]?.publicKey, // intoto 0.0.2 (base64 PEM)
    spec.publicKey, // intoto 0.0.1 (base64 PEM)
  ];
  const named = candidates.find((c): c is string => typeof c === 'string');
  if (named === undefined || !certificateDer(named).equals(leafDer)) {
    fail('tlog_entry_mismatch', `${at}.canonicalizedBody`, "the bundle's certificate", named === undefined ? 'no certificate' : 'another certificate');
  }
}

type Body = {
  spec?: {
    signatures?: { verifier?: unknown }[];
    signature?: { publicKey?: { content?: unknown } };
    hashedRekordV002?: { signature?: { verifier?: { x509Certificate?: { rawBytes?: unknown } } } };
    dsseV002?: { verifiers?: { x509Certificate?: { rawBytes?: unknown } }[] };
    content?: { envelope?: { signatures?: { publicKey?: unknown }[] } };
    publicKey?: unknown;
  };
};

function certificateDer(b64: string): Buffer {
  const bytes = Buffer.from(b64, 'base64');
  const text = bytes.toString('latin1');
  const pem = /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+)-----END CERTIFICATE-----\n?$/.exec(text);
  return pem ? Buffer.from(pem[1]!.replace(/\n/g, ''), 'base64') : bytes;
}

export interface Checkpoint {
  note: string;
  size: string;
  rootHash: Buffer;
  signatures: { name: string; keyHint: Buffer; signature: Buffer }[];
}

/**
 * A C2SP signed note, read strictly: `origin\nsize\nroot\n[extension lines]`, a blank line, then only
 * `— name base64` lines. @sigstore/verify skips lines it does not recognise; here they are refused.
 */
export function parseCheckpoint(envelope: string, at: string): Checkpoint {
  const split = envelope.indexOf('\n\n');
  if (split < 0 || !envelope.endsWith('\n')) fail('tlog_checkpoint_invalid', at, 'a signed note', 'no signature block');
  const note = envelope.slice(0, split + 1);
  const lines = note.slice(0, -1).split('\n');
  const [origin, size, root] = lines;
  if (lines.length < 3 || !origin || !/^(0|[1-9][0-9]{0,18})$/.test(size ?? '') || lines.slice(3).some((l) => l === '')) {
    fail('tlog_checkpoint_invalid', at, 'origin, tree size and root hash lines', JSON.stringify(note.slice(0, 80)));
  }
  const rootHash = Buffer.from(root ?? '', 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) fail('tlog_checkpoint_invalid', at, 'a base64 SHA-256 root hash', String(root));
  const signatures = envelope
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      // Names are hosts with an optional path. @sigstore/verify uses each name as a regular expression,
      // so anything beyond these characters could even make it throw.
      const m = /^\u2014 ([A-Za-z0-9][A-Za-z0-9.\-_/:]*) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
      const bytes = Buffer.from(m?.[2] ?? '', 'base64');
      if (!m || bytes.length < 5 || bytes.toString('base64') !== m[2]) fail('tlog_checkpoint_invalid', at, '"— name signature" lines', JSON.stringify(line.slice(0, 80)));
      return { name: m[1]!, keyHint: bytes.subarray(0, 4), signature: bytes.subarray(4) };
    });
  return { note, size: size!, rootHash, signatures };
}

function fail(code: string, field: string, expected: string, actual: string): never {
  throw unprocessable(code, `${field}: expected ${expected}, got ${actual}`, { field });
}
