/**
 * Keyless signing for `provena attest`: an in-toto statement becomes a Sigstore bundle (v0.3, DSSE).
 *
 * The flow is the one every Sigstore client follows: an ephemeral P-256 key, a short-lived certificate from
 * Fulcio for the CI identity token, a Rekor v1 entry (inclusion proof + signed entry timestamp) and, unless
 * turned off, an RFC 3161 timestamp. The tests run this same code against a local stack
 * (test/support/sigstore-stack/), so what they verify is what production produces.
 */
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, InternalError, RekorWitness, TSAWitness } from '@sigstore/sign';
import type { Witness } from '@sigstore/sign';
import { ProvenaError } from '../../core/errors.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** The Sigstore public-good instance. Only used when no URL is given; no test may rely on these. */
export const PUBLIC_GOOD = {
  fulcioUrl: 'https://fulcio.sigstore.dev',
  rekorUrl: 'https://rekor.sigstore.dev',
  tsaUrl: 'https://timestamp.sigstore.dev/api/v1/timestamp',
} as const;

export interface SignStatementOptions {
  /** The in-toto Statement; serialised once with JSON.stringify and signed as the DSSE payload. */
  statement: object;
  /** OIDC identity token from the CI (audience `sigstore`). */
  identityToken: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  /** Full timestamp endpoint URL; `null` signs without an RFC 3161 timestamp (Rekor's SET still dates it). */
  tsaUrl?: string | null;
  /**
   * Rekor entry kind. `dsse` is what current Sigstore clients write; `intoto` (v0.0.2) stays readable
   * by every verifier and is kept for logs that do not accept `dsse` yet.
   */
  rekorEntryType?: 'dsse' | 'intoto';
  /** Per request, in milliseconds. */
  timeoutMs?: number;
  /** Retries for 5xx/408/429 answers and network failures. */
  retries?: number;
}

/** Signs `statement` and returns the bundle as JSON text (the bytes to store and serve unchanged). */
export async function signStatement(options: SignStatementOptions): Promise<string> {
  const fetchOptions = { timeout: options.timeoutMs ?? 30_000, retry: options.retries ?? 2 };
  const token = options.identityToken;
  const signer = new FulcioSigner({
    identityProvider: { getToken: async () => token },
    fulcioBaseURL: options.fulcioUrl ?? PUBLIC_GOOD.fulcioUrl,
    ...fetchOptions,
  });

  const witnesses: Witness[] = [
    new RekorWitness({
      rekorBaseURL: options.rekorUrl ?? PUBLIC_GOOD.rekorUrl,
      entryType: options.rekorEntryType ?? 'dsse',
      // Rekor v2 bundles carry no signed entry timestamp, so they need a TSA; v1 is what verifiers expect today.
      majorApiVersion: 1,
      ...fetchOptions,
    }),
  ];
  const tsaUrl = options.tsaUrl === undefined ? PUBLIC_GOOD.tsaUrl : options.tsaUrl;
  if (tsaUrl !== null) witnesses.push(new TSAWitness({ tsaBaseURL: tsaUrl, ...fetchOptions }));

  const builder = new DSSEBundleBuilder({ signer, witnesses });
  const payload = Buffer.from(JSON.stringify(options.statement), 'utf8');
  try {
    const bundle = await builder.create({ data: payload, type: IN_TOTO_PAYLOAD_TYPE });
    return JSON.stringify(bundleToJSON(bundle));
  } catch (err) {
    throw toSigningError(err);
  }
}

/** Says which service failed and why, in the domain's error type (the CLI maps kinds to exit codes). */
function toSigningError(err: unknown): ProvenaError {
  if (!(err instanceof InternalError)) {
    return new ProvenaError('signing_failed', 'internal', `signing failed: ${describe(err)}`, { cause: err });
  }
  const status = httpStatus(err.cause);
  const refused = status !== undefined && status >= 400 && status < 500;
  switch (err.code) {
    case 'IDENTITY_TOKEN_PARSE_ERROR':
    case 'IDENTITY_TOKEN_READ_ERROR':
      return new ProvenaError('identity_token_invalid', 'invalid',
        `the identity token could not be read (${describe(err.cause)}); pass the CI's OIDC token`, { cause: err });
    case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
      return refused
        ? new ProvenaError('signing_certificate_refused', 'unauthenticated',
            `Fulcio refused the identity token (HTTP ${status}: ${describe(err.cause)}); check its issuer, audience "sigstore" and expiry`,
            { cause: err })
        : new ProvenaError('fulcio_unavailable', 'unavailable', `Fulcio did not answer: ${describe(err.cause)}`, { cause: err });
    case 'TLOG_CREATE_ENTRY_ERROR':
    case 'TLOG_FETCH_ENTRY_ERROR':
      return new ProvenaError(refused ? 'transparency_log_refused' : 'transparency_log_unavailable',
        refused ? 'unprocessable' : 'unavailable', `Rekor did not log the signature: ${describe(err.cause)}`, { cause: err });
    case 'TSA_CREATE_TIMESTAMP_ERROR':
      return new ProvenaError('timestamp_unavailable', 'unavailable',
        `the timestamp authority did not answer: ${describe(err.cause)}; retry, or sign without a TSA`, { cause: err });
  }
}

function httpStatus(cause: unknown): number | undefined {
  const status = (cause as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
