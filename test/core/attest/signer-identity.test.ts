import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAttestation } from '../../../src/core/attest/bundle.ts';
import { extractSignerIdentity } from '../../../src/core/attest/signer-identity.ts';
import { certificateWith, extension, FULCIO, ia5String, oid, san, seq, tlv, utf8String } from './der.ts';
import { actionlintBundle, staging, throwsCode } from './fixtures.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';
const uri = (s: string) => tlv(0x86, Buffer.from(s));

describe('extractSignerIdentity on real certificates', () => {
  it('reads a GitHub Actions certificate: issuer, SAN and the Fulcio extensions, decoded', () => {
    const id = extractSignerIdentity(parseAttestation(actionlintBundle).certificate);
    assert.deepEqual(id, {
      issuer: GITHUB,
      subjectAlternativeName: { type: 'uri', value: 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/main' },
      buildSignerUri: 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/main',
      buildSignerDigest: '3486769623122fdddade1fb57e1b4728f162608a',
      runnerEnvironment: 'github-hosted',
      sourceRepositoryUri: 'https://github.com/hunger/octoconda',
      sourceRepositoryDigest: '3486769623122fdddade1fb57e1b4728f162608a',
      sourceRepositoryRef: 'refs/heads/main',
      sourceRepositoryIdentifier: '1092908474',
      sourceRepositoryOwnerUri: 'https://github.com/hunger',
      sourceRepositoryOwnerIdentifier: '73267',
      buildConfigUri: 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/main',
      buildConfigDigest: '3486769623122fdddade1fb57e1b4728f162608a',
      buildTrigger: 'schedule',
      runInvocationUri: 'https://github.com/hunger/octoconda/actions/runs/23778256205/attempts/1',
      sourceRepositoryVisibilityAtSigning: 'public',
    });
  });

  it('reads a person’s certificate: email SAN, no workflow fields', () => {
    const id = extractSignerIdentity(parseAttestation(staging.bundle).certificate);
    assert.equal(id.issuer, 'https://github.com/login/oauth');
    assert.deepEqual(id.subjectAlternativeName, { type: 'email', value: 'jku@goto.fi' });
    assert.equal(id.sourceRepositoryUri, null);
    assert.equal(id.buildConfigUri, null);
  });
});

describe('extractSignerIdentity on crafted certificates', () => {
  it('reads the legacy raw issuer (1.1) when 1.8 is absent, and 1.8 as a DER UTF8String', () => {
    assert.equal(extractSignerIdentity(certificateWith(extension(FULCIO(1), Buffer.from(GITHUB)))).issuer, GITHUB);
    assert.equal(extractSignerIdentity(certificateWith(extension(FULCIO(8), utf8String(GITHUB)))).issuer, GITHUB);
    const both = certificateWith(extension(FULCIO(1), Buffer.from(GITHUB)), extension(FULCIO(8), utf8String(GITHUB)));
    assert.equal(extractSignerIdentity(both).issuer, GITHUB);
  });

  it('refuses issuers that disagree', () => {
    const both = certificateWith(extension(FULCIO(1), Buffer.from('https://gitlab.com')), extension(FULCIO(8), utf8String(GITHUB)));
    throwsCode(() => extractSignerIdentity(both), 'certificate_identity_invalid');
  });

  it('refuses an extension from 1.8 on that is not a DER UTF8String', () => {
    throwsCode(() => extractSignerIdentity(certificateWith(extension(FULCIO(8), Buffer.from(GITHUB)))), 'certificate_identity_invalid');
    throwsCode(() => extractSignerIdentity(certificateWith(extension(FULCIO(12), ia5String('https://github.com/a/b')))), 'certificate_identity_invalid');
    const trailing = Buffer.concat([utf8String('https://github.com/a/b'), Buffer.from([0])]);
    throwsCode(() => extractSignerIdentity(certificateWith(extension(FULCIO(12), trailing))), 'certificate_identity_invalid');
    throwsCode(() => extractSignerIdentity(certificateWith(extension(FULCIO(12), tlv(0x0c, Buffer.from([0xff, 0xfe]))))), 'certificate_identity_invalid');
    throwsCode(() => extractSignerIdentity(certificateWith(extension(FULCIO(14), utf8String('refs/heads/main\n')))), 'certificate_identity_invalid');
  });

  it('refuses a duplicated identity extension', () => {
    const twice = certificateWith(extension(FULCIO(12), utf8String('https://github.com/a/b')), extension(FULCIO(12), utf8String('https://github.com/evil/b')));
    throwsCode(() => extractSignerIdentity(twice), 'certificate_identity_invalid');
  });

  it('reads exactly one SAN and refuses two or an unknown kind', () => {
    assert.deepEqual(extractSignerIdentity(certificateWith(san(uri('https://x/y')))).subjectAlternativeName, { type: 'uri', value: 'https://x/y' });
    const username = tlv(0xa0, oid(FULCIO(7)), tlv(0xa0, utf8String('alice')));
    assert.deepEqual(extractSignerIdentity(certificateWith(san(username))).subjectAlternativeName, { type: 'other', value: 'alice' });
    throwsCode(() => extractSignerIdentity(certificateWith(san(uri('https://x/y'), tlv(0x81, Buffer.from('a@b'))))), 'certificate_identity_invalid');
    throwsCode(() => extractSignerIdentity(certificateWith(san(tlv(0x82, Buffer.from('dns.example'))))), 'certificate_identity_invalid');
    throwsCode(() => extractSignerIdentity(certificateWith(san(uri('https://x/ y')))), 'certificate_identity_invalid');
    assert.equal(extractSignerIdentity(certificateWith(seq())).subjectAlternativeName, null);
  });
});
