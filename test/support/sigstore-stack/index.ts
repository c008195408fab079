/**
 * A local Sigstore: Fulcio (with CT log), Rekor v1 and a timestamp authority from @sigstore/mock, each on
 * its own 127.0.0.1 port, an OIDC issuer whose tokens Fulcio accepts, and the trusted_root.json that
 * verifies what they produce. Every stack generates its own keys, so a second stack is "someone else's
 * Sigstore". Bundles are made by the production signer (src/adapters/sigstore/signer.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { initializeCA, initializeCTLog, initializeTLog, initializeTSA, tsaHandler } from '@sigstore/mock';
import { signStatement } from '../../../src/adapters/sigstore/signer.ts';
import { startOidcIssuer } from '../oidc-issuer.ts';
import type { Claims, OidcIssuer, TokenAlgorithm } from '../oidc-issuer.ts';
import { condaPublishStatement } from './attestation-statement.ts';
import { fulcioRoute } from './fulcio-service.ts';
import { startHttpService } from './http-service.ts';
import { rekorRoute } from './rekor-service.ts';
import { StackClock } from './stack-clock.ts';
import type { StackService } from './stack-clock.ts';
import { buildTrustedRoot, derBytes } from './trusted-root.ts';
import type { SerializedTrustedRoot } from './trusted-root.ts';

export interface SigstoreStackOptions {
  /** Share an issuer between stacks (the stack then does not close it); otherwise one is started. */
  issuer?: OidcIssuer;
  issuerAlgorithm?: TokenAlgorithm;
  /** Rekor entry kind for signAttestation; `dsse` like production. */
  rekorEntryType?: 'dsse' | 'intoto';
  /** End of every authority's validity window in the trusted root (open by default). */
  validUntil?: Date;
}

export interface SignAttestationOptions {
  filename: string;
  sha256: string;
  targetChannel?: string;
  /** Replaces the whole in-toto statement (negative tests); filename/sha256/targetChannel are then unused. */
  statement?: object;
  /** Whose token signs: GitHub- or GitLab-shaped claims from the stack's issuer, or exactly these claims. */
  identity?: 'github' | 'gitlab' | Claims;
  /** Claims merged over the identity's (e.g. `{ repository: 'acme/other' }`). */
  tokenOverrides?: Claims;
  /** A ready token, used as is (e.g. a forged one). */
  token?: string;
  /** Stamp times for this signature only, per service (e.g. Rekor and the TSA after the certificate expired). */
  times?: Partial<Record<StackService, Date>>;
  /** false: no RFC 3161 timestamp, only Rekor's signed entry timestamp. */
  timestamp?: boolean;
}

export interface SigstoreStack {
  fulcioUrl: string;
  rekorUrl: string;
  /** full endpoint, like https://timestamp.sigstore.dev/api/v1/timestamp */
  tsaUrl: string;
  trustedRoot: SerializedTrustedRoot;
  /** `trustedRoot` as the text of a trusted_root.json file */
  trustedRootJson: string;
  issuer: OidcIssuer;
  /** Time the services stamp; fixed unless a test moves it. Never earlier than `startedAt`. */
  clock: StackClock;
  /** notBefore of the stack's root certificates (second precision) */
  startedAt: Date;
  /** Returns the bundle as JSON text: v0.3, DSSE, Rekor v1 entry with inclusion proof and SET, RFC 3161 timestamp. */
  signAttestation(opts: SignAttestationOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startSigstoreStack(opts: SigstoreStackOptions = {}): Promise<SigstoreStack> {
  const issuer = opts.issuer ?? await startOidcIssuer({ algorithm: opts.issuerAlgorithm });
  const [fulcio, rekor, tsa] = await Promise.all([startHttpService(), startHttpService(), startHttpService()]);
  const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const [caKey, ctKey, rekorKey, tsaKey] = [newKey(), newKey(), newKey(), newKey()];

  // One clock for every service (see stack-clock.ts): a moving clock is what made the TSA's
  // milliseconds unparseable now and then.
  const clock = new StackClock();
  const ctlog = await initializeCTLog(ctKey, clock.fulcio);
  const ca = await initializeCA(caKey, ctlog, clock.fulcio);
  const tlog = await initializeTLog(rekor.url, rekorKey, clock.rekor);
  const timestamps = await initializeTSA(tsaKey, clock.tsa);

  // The mock dates its root certificates with the real clock; start the stack's clock no earlier.
  const roots = [ca.rootCertificate, timestamps.rootCertificate, timestamps.intCertificate];
  const startedAt = new Date(Math.max(...roots.map((der) => X509Certificate.parse(derBytes(der)).notBefore.getTime())));
  clock.set(new Date(Math.max(Date.now(), startedAt.getTime())));

  fulcio.mount(fulcioRoute({ ca, jwks: issuer.jwks, audience: 'sigstore' }));
  rekor.mount(rekorRoute(tlog));
  const tsaRoute = tsaHandler(timestamps);
  tsa.mount({ method: 'POST', ...tsaRoute });
  const tsaUrl = `${tsa.url}${tsaRoute.path}`;

  const trustedRoot = buildTrustedRoot({
    fulcio: { url: fulcio.url, rootCertificate: ca.rootCertificate },
    ctlog: { url: `${fulcio.url}/ctlog`, publicKey: ctKey.publicKey },
    rekor: { url: rekor.url, publicKey: rekorKey.publicKey },
    tsa: { url: tsaUrl, signingCertificate: timestamps.intCertificate, rootCertificate: timestamps.rootCertificate },
    validFor: { start: startedAt, end: opts.validUntil },
  });

  const tokenFor = (identity: SignAttestationOptions['identity'], overrides: Claims = {}) =>
    identity === 'gitlab' ? issuer.gitlabToken(overrides)
      : identity === 'github' || identity === undefined ? issuer.githubToken(overrides)
        : issuer.mint({ ...identity, ...overrides });

  // Signatures run one at a time: `times` moves the shared clock for the duration of one signature.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    fulcioUrl: fulcio.url, rekorUrl: rekor.url, tsaUrl, trustedRoot,
    trustedRootJson: JSON.stringify(trustedRoot, null, 2),
    issuer, clock, startedAt,
    signAttestation: async (sign) => {
      const identityToken = sign.token ?? await tokenFor(sign.identity, sign.tokenOverrides);
      const statement = sign.statement ?? condaPublishStatement(sign);
      return serialized(async () => {
        const saved = clock.snapshot();
        for (const [service, at] of Object.entries(sign.times ?? {})) clock.setService(service as StackService, at);
        try {
          return await signStatement({
            statement, identityToken, fulcioUrl: fulcio.url, rekorUrl: rekor.url,
            tsaUrl: sign.timestamp === false ? null : tsaUrl, rekorEntryType: opts.rekorEntryType, retries: 0,
          });
        } finally {
          clock.restore(saved);
        }
      });
    },
    close: async () => {
      await Promise.all([fulcio.close(), rekor.close(), tsa.close(), opts.issuer ? undefined : issuer.close()]);
    },
  };
}

export { condaPublishStatement } from './attestation-statement.ts';
export { FULCIO_OID, fulcioIdentity } from './fulcio-identity.ts';
export { StackClock, stampable } from './stack-clock.ts';
export type { SerializedTrustedRoot } from './trusted-root.ts';
