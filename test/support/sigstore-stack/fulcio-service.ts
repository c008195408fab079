/**
 * Fulcio for the stack: @sigstore/mock's CA and handler, behind the checks real Fulcio makes and the mock
 * skips. The token must be signed by a key of the stack's issuer (any `iss`, so tests can pose as
 * token.actions.githubusercontent.com), carry the expected audience and not be expired; the request must
 * prove possession of the key. The certificate then gets Fulcio's SAN and extensions (fulcio-identity.ts).
 */
import { verify as verifySignature } from 'node:crypto';
import { fulcioHandler } from '@sigstore/mock';
import type { initializeCA } from '@sigstore/mock';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { fulcioIdentity } from './fulcio-identity.ts';
import type { Route } from './http-service.ts';

type MockCA = Awaited<ReturnType<typeof initializeCA>>;

export interface FulcioServiceOptions {
  ca: MockCA;
  /** The key set Fulcio trusts for identity tokens. */
  jwks: JSONWebKeySet;
  audience: string;
}

interface SigningCertRequest {
  credentials?: { oidcIdentityToken?: string };
  publicKeyRequest?: { publicKey?: { content?: string }; proofOfPossession?: string };
}

export function fulcioRoute(opts: FulcioServiceOptions): Route {
  const keys = createLocalJWKSet(opts.jwks);
  const handlerPath = fulcioHandler(opts.ca).path;

  const fn = async (body: string) => {
    const request = JSON.parse(body) as SigningCertRequest;
    const token = request.credentials?.oidcIdentityToken ?? '';
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, { audience: opts.audience, clockTolerance: 60 }));
    } catch (err) {
      return refuse(401, `invalid identity token: ${(err as Error).message}`);
    }
    // Proof of possession: the client signs the token's subject (or email) with the key to certify.
    const subject = String(claims.email ?? claims.sub ?? '');
    const pem = request.publicKeyRequest?.publicKey?.content ?? '';
    const proof = Buffer.from(request.publicKeyRequest?.proofOfPossession ?? '', 'base64');
    if (!pem || !safeVerify(pem, subject, proof)) return refuse(400, 'proof of possession does not verify');

    // The mock handler parses the request and formats the answer; this CA view swaps in Fulcio's identity.
    const identity = fulcioIdentity(claims);
    const ca: MockCA = {
      rootCertificate: opts.ca.rootCertificate,
      issueCertificate: (req) => opts.ca.issueCertificate({
        publicKey: req.publicKey,
        subjectAltName: identity.subjectAltName,
        extensions: identity.extensions,
      }),
    };
    return fulcioHandler(ca).fn(body);
  };
  return { method: 'POST', path: handlerPath, fn };
}

function refuse(statusCode: number, message: string) {
  return { statusCode, response: JSON.stringify({ code: statusCode, message }), contentType: 'application/json' };
}

function safeVerify(pem: string, subject: string, proof: Buffer): boolean {
  try {
    return verifySignature('sha256', Buffer.from(subject), pem, proof);
  } catch {
    return false;
  }
}
