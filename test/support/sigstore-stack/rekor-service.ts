/**
 * Rekor v1 for the stack: @sigstore/mock's transparency log and handler, with `dsse` entries turned into
 * what real Rekor stores. The mock logs the proposed entry as sent (envelope + verifiers); Rekor verifies
 * the envelope and stores {envelopeHash, payloadHash, signatures[{signature, verifier}]} instead, which
 * is what verifiers compare the bundle with ("signature count mismatch" otherwise). See Rekor's
 * pkg/types/dsse/v0.0.1/entry.go. Other kinds (intoto, hashedrekord) pass through unchanged.
 */
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { rekorHandler } from '@sigstore/mock';
import type { initializeTLog } from '@sigstore/mock';
import type { Route } from './http-service.ts';

type MockTLog = Awaited<ReturnType<typeof initializeTLog>>;

interface ProposedDsse {
  kind: 'dsse';
  apiVersion: string;
  spec: { proposedContent?: { envelope?: string; verifiers?: string[] } };
}

interface Envelope {
  payload: string;
  payloadType: string;
  signatures: { sig: string; keyid?: string }[];
}

export function rekorRoute(tlog: MockTLog): Route {
  const handler = rekorHandler(tlog);
  const fn = async (body: string) => {
    const proposed = JSON.parse(body) as { kind?: string };
    if (proposed.kind !== 'dsse') return handler.fn(body);
    try {
      return handler.fn(JSON.stringify(canonicalDsseEntry(proposed as ProposedDsse)));
    } catch (err) {
      return { statusCode: 400, response: JSON.stringify({ code: 400, message: (err as Error).message }),
        contentType: 'application/json' };
    }
  };
  return { method: 'POST', path: handler.path, fn };
}

/** The stored form of a dsse v0.0.1 entry, after checking every signature against a submitted verifier. */
export function canonicalDsseEntry(proposed: ProposedDsse) {
  const content = proposed.spec.proposedContent;
  if (!content?.envelope || !content.verifiers?.length) throw new Error('dsse entry needs envelope and verifiers');
  const envelope = JSON.parse(content.envelope) as Envelope;
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);

  const signatures = envelope.signatures.map(({ sig }) => {
    const verifier = content.verifiers!.find((v) => verifies(v, pae, Buffer.from(sig, 'base64')));
    if (!verifier) throw new Error('all signatures must have a key that verifies it');
    return { signature: sig, verifier };
  }).sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));

  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256Hex(Buffer.from(content.envelope, 'utf8')) },
      payloadHash: { algorithm: 'sha256', value: sha256Hex(payload) },
      signatures,
    },
  };
}

/** DSSE v1 PAE: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload,
  ]);
}

/** `verifier` is base64 of a PEM certificate or public key, as sign's RekorWitness sends it. */
function verifies(verifier: string, data: Buffer, signature: Buffer): boolean {
  try {
    const key = createPublicKey(Buffer.from(verifier, 'base64').toString('utf8'));
    return verifySignature('sha256', data, key, signature);
  } catch {
    return false;
  }
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
