import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyError, VerificationError } from '@sigstore/verify';
import { parseAttestation } from '../../../src/core/attest/bundle.ts';
import { checkTlogEntryBinding } from '../../../src/core/attest/tlog-binding.ts';
import { toProvenaError } from '../../../src/core/attest/verify-errors.ts';
import { ProvenaError } from '../../../src/core/errors.ts';
import { actionlintBundle, staging, throwsCode, trustRoots } from './fixtures.ts';

const leaf = parseAttestation(actionlintBundle).certificate; // valid 2026-03-31T02:58:31Z..03:08:31Z
const inside = new Date('2026-03-31T03:00:00Z');
const ctx = (over = {}) => ({ leaf, signingTimes: [inside], timestampCount: 1, root: 'test', ...over });
type Code = ConstructorParameters<typeof VerificationError>[0]['code'];
const fail = (code: Code, message = 'x') => new VerificationError({ code, message });

describe('toProvenaError: one Provena code per @sigstore/verify failure', () => {
  const table: [Code, string][] = [
    ['TIMESTAMP_ERROR', 'timestamp_invalid'],
    ['TLOG_ERROR', 'tlog_entry_missing'],
    ['TLOG_MISSING_INCLUSION_ERROR', 'tlog_inclusion_missing'],
    ['TLOG_INCLUSION_PROOF_ERROR', 'tlog_inclusion_proof_invalid'],
    ['TLOG_INCLUSION_PROMISE_ERROR', 'tlog_set_invalid'],
    ['TLOG_BODY_ERROR', 'tlog_entry_mismatch'],
    ['SIGNATURE_ERROR', 'signature_invalid'],
    ['PUBLIC_KEY_ERROR', 'attestation_no_certificate'],
    ['NOT_IMPLEMENTED_ERROR', 'attestation_unsupported'],
    ['CERTIFICATE_ERROR', 'untrusted_certificate'],
  ];
  for (const [from, to] of table) {
    it(`${from} → ${to}`, () => {
      const e = toProvenaError(fail(from, 'because'), ctx());
      assert.equal(e.code, to);
      assert.equal(e.kind, 'unprocessable');
      assert.match(e.detail, /because.*trusted root test/);
    });
  }

  it('CERTIFICATE_ERROR about SCTs → certificate_sct_invalid', () => {
    assert.equal(toProvenaError(fail('CERTIFICATE_ERROR', 'SCT verification failed'), ctx()).code, 'certificate_sct_invalid');
    assert.equal(toProvenaError(fail('CERTIFICATE_ERROR', 'expected 1 SCTs, got 0'), ctx()).code, 'certificate_sct_invalid');
  });

  it('CERTIFICATE_ERROR with the leaf outside its validity at a verified signing time → certificate_expired_at_signing', () => {
    const e = toProvenaError(fail('CERTIFICATE_ERROR', 'Failed to verify certificate chain'), ctx({ signingTimes: [inside, new Date('2026-03-31T03:10:00Z')] }));
    assert.equal(e.code, 'certificate_expired_at_signing');
    assert.match(e.detail, /2026-03-31T03:08:31\.000Z.*2026-03-31T03:10:00\.000Z/);
    assert.equal(toProvenaError(fail('CERTIFICATE_ERROR'), ctx({ signingTimes: [new Date('2026-03-31T02:00:00Z')] })).code, 'certificate_expired_at_signing');
  });

  it('TIMESTAMP_ERROR with no timestamp in the bundle → timestamp_missing', () => {
    assert.equal(toProvenaError(fail('TIMESTAMP_ERROR', 'expected 1 timestamps, got 0'), ctx({ timestampCount: 0 })).code, 'timestamp_missing');
  });

  it('anything else is a refusal, not a crash; Provena errors pass through', () => {
    assert.equal(toProvenaError(new PolicyError({ code: 'UNTRUSTED_SIGNER_ERROR', message: 'm' }), ctx()).code, 'signer_not_trusted');
    assert.equal(toProvenaError(new TypeError('boom'), ctx()).code, 'attestation_unverifiable');
    const own = new ProvenaError('timestamp_invalid', 'unprocessable', 'd');
    assert.equal(toProvenaError(own, ctx()), own);
  });
});

describe('checkTlogEntryBinding', () => {
  it('refuses a log entry that names another certificate than the bundle’s', () => {
    const parsed = parseAttestation(actionlintBundle);
    const other = parseAttestation(staging.bundle).certificateDer;
    const entry = parsed.bundle.verificationMaterial.tlogEntries[0]!;
    const material = trustRoots().publicGood.material;
    assert.doesNotThrow(() => checkTlogEntryBinding(entry, parsed.certificateDer, material, 'e'));
    const e = throwsCode(() => checkTlogEntryBinding(entry, other, material, 'e'), 'tlog_entry_mismatch');
    assert.match(e.detail, /another certificate/);
  });

  it('refuses a log the trusted root does not know', () => {
    const parsed = parseAttestation(staging.bundle);
    const entry = parsed.bundle.verificationMaterial.tlogEntries[0]!;
    throwsCode(() => checkTlogEntryBinding(entry, parsed.certificateDer, trustRoots().publicGood.material, 'e'), 'tlog_checkpoint_invalid');
  });
});
