import { PolicyError, VerificationError } from '@sigstore/verify';
import type { X509Certificate } from '@sigstore/core';
import { isProvenaError, ProvenaError, unprocessable } from '../errors.ts';

/**
 * @sigstore/verify reports failures as `VerificationError` with a coarse code; uploaders need to know which
 * check failed. This table is the single place that turns one into the other:
 *
 * | @sigstore/verify                              | Provena                          |
 * |-----------------------------------------------|----------------------------------|
 * | CERTIFICATE_ERROR, SCT message                | certificate_sct_invalid          |
 * | CERTIFICATE_ERROR, leaf not valid at a verified signing time | certificate_expired_at_signing |
 * | CERTIFICATE_ERROR, otherwise (chain/CA)       | untrusted_certificate            |
 * | TIMESTAMP_ERROR, none in the bundle           | timestamp_missing                |
 * | TIMESTAMP_ERROR, otherwise                    | timestamp_invalid                |
 * | TLOG_ERROR (too few entries)                  | tlog_entry_missing               |
 * | TLOG_MISSING_INCLUSION_ERROR                  | tlog_inclusion_missing           |
 * | TLOG_INCLUSION_PROOF_ERROR                    | tlog_inclusion_proof_invalid     |
 * | TLOG_INCLUSION_PROMISE_ERROR                  | tlog_set_invalid                 |
 * | TLOG_BODY_ERROR                               | tlog_entry_mismatch              |
 * | SIGNATURE_ERROR                               | signature_invalid                |
 * | PUBLIC_KEY_ERROR                              | attestation_no_certificate       |
 * | NOT_IMPLEMENTED_ERROR                         | attestation_unsupported          |
 * | PolicyError (never raised: no policy is given)| signer_not_trusted               |
 * | anything else thrown while verifying          | attestation_unverifiable         |
 */
export interface FailureContext {
  leaf: X509Certificate;
  /** signing times the bundle claims; only consulted for failures after they were verified (sigstore-verify.ts) */
  signingTimes: Date[];
  /** how many timestamps the bundle carries */
  timestampCount: number;
  root: string;
}

export function toProvenaError(err: unknown, ctx: FailureContext): ProvenaError {
  if (isProvenaError(err)) return err;
  if (err instanceof PolicyError) return refuse('signer_not_trusted', err, ctx);
  if (!(err instanceof VerificationError)) {
    return unprocessable('attestation_unverifiable', `bundle could not be verified against trusted root ${ctx.root}: ${message(err)}`);
  }
  switch (err.code) {
    case 'CERTIFICATE_ERROR': {
      if (/SCT/.test(err.message)) return refuse('certificate_sct_invalid', err, ctx);
      const outside = ctx.signingTimes.find((t) => !ctx.leaf.validForDate(t));
      if (outside !== undefined) {
        return unprocessable(
          'certificate_expired_at_signing',
          `certificate valid ${ctx.leaf.notBefore.toISOString()}..${ctx.leaf.notAfter.toISOString()}, but signed at ${outside.toISOString()}`,
        );
      }
      return refuse('untrusted_certificate', err, ctx);
    }
    case 'TIMESTAMP_ERROR':
      return refuse(ctx.timestampCount === 0 ? 'timestamp_missing' : 'timestamp_invalid', err, ctx);
    case 'TLOG_ERROR':
      return refuse('tlog_entry_missing', err, ctx);
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return refuse('tlog_inclusion_missing', err, ctx);
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return refuse('tlog_inclusion_proof_invalid', err, ctx);
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return refuse('tlog_set_invalid', err, ctx);
    case 'TLOG_BODY_ERROR':
      return refuse('tlog_entry_mismatch', err, ctx);
    case 'SIGNATURE_ERROR':
      return refuse('signature_invalid', err, ctx);
    case 'PUBLIC_KEY_ERROR':
      return refuse('attestation_no_certificate', err, ctx);
    case 'NOT_IMPLEMENTED_ERROR':
      return refuse('attestation_unsupported', err, ctx);
  }
  return refuse('attestation_unverifiable', err, ctx);
}

function refuse(code: string, err: Error, ctx: FailureContext): ProvenaError {
  const cause = (err as { cause?: unknown }).cause;
  const why = cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  return new ProvenaError(code, 'unprocessable', `${why} [trusted root ${ctx.root}]`, { cause: err });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
