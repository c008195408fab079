import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProvenaError } from '../../src/core/errors.ts';
import { bundleCertificate, fulcioExtension, verifyBundle } from './sigstore-stack/bundle-inspection.ts';
import { FULCIO_OID, startSigstoreStack } from './sigstore-stack/index.ts';
import type { SigstoreStack } from './sigstore-stack/index.ts';

const PACKAGE = { filename: 'widgets-1.0-py_0.conda', sha256: 'ab'.repeat(32) };

describe('local Fulcio: identities in certificates', () => {
  let stack: SigstoreStack;
  let other: SigstoreStack;
  before(async () => {
    [stack, other] = await Promise.all([startSigstoreStack(), startSigstoreStack()]);
  });
  after(async () => {
    await Promise.all([stack.close(), other.close()]);
  });

  it('gives GitHub identities the certificate extensions Fulcio gives them', async () => {
    const json = await stack.signAttestation({ ...PACKAGE, tokenOverrides: { repository: 'octo-org/octo-repo', environment: 'pypi' } });
    const cert = bundleCertificate(json);
    const san = 'https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main';
    assert.equal(cert.subjectAltName, san);
    const expected: Record<string, string> = {
      [FULCIO_OID.issuer]: stack.issuer.url,
      [FULCIO_OID.issuerV1]: stack.issuer.url,
      [FULCIO_OID.sourceRepositoryUri]: 'https://github.com/octo-org/octo-repo',
      [FULCIO_OID.buildConfigUri]: san,
      [FULCIO_OID.buildSignerUri]: san,
      [FULCIO_OID.sourceRepositoryRef]: 'refs/heads/main',
      [FULCIO_OID.sourceRepositoryDigest]: '3f786850e387550fdab836ed7e6dc881de23001b',
      [FULCIO_OID.sourceRepositoryOwnerUri]: 'https://github.com/octo-org',
      [FULCIO_OID.sourceRepositoryIdentifier]: '640505018',
      [FULCIO_OID.sourceRepositoryOwnerIdentifier]: '1342004',
      [FULCIO_OID.runnerEnvironment]: 'github-hosted',
      [FULCIO_OID.buildTrigger]: 'push',
      [FULCIO_OID.runInvocationUri]: 'https://github.com/octo-org/octo-repo/actions/runs/9876543210/attempts/1',
      [FULCIO_OID.deploymentEnvironment]: 'pypi',
      [FULCIO_OID.githubWorkflowRepository]: 'octo-org/octo-repo',
      [FULCIO_OID.githubWorkflowRef]: 'refs/heads/main',
    };
    for (const [oid, value] of Object.entries(expected)) assert.equal(fulcioExtension(cert, oid), value, oid);
    verifyBundle(json, stack.trustedRoot);
  });

  it('gives GitLab identities the certificate extensions Fulcio gives them', async () => {
    const json = await stack.signAttestation({ ...PACKAGE, identity: 'gitlab' });
    const cert = bundleCertificate(json);
    const config = 'https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main';
    assert.equal(cert.subjectAltName, config);
    const expected: Record<string, string | undefined> = {
      [FULCIO_OID.issuer]: stack.issuer.url,
      [FULCIO_OID.sourceRepositoryUri]: 'https://gitlab.com/acme/widgets',
      [FULCIO_OID.buildConfigUri]: config,
      [FULCIO_OID.buildSignerUri]: config,
      [FULCIO_OID.sourceRepositoryRef]: 'refs/heads/main',
      [FULCIO_OID.sourceRepositoryDigest]: '3f786850e387550fdab836ed7e6dc881de23001b',
      [FULCIO_OID.sourceRepositoryOwnerUri]: 'https://gitlab.com/acme',
      [FULCIO_OID.sourceRepositoryIdentifier]: '4711',
      [FULCIO_OID.buildTrigger]: 'push',
      [FULCIO_OID.runInvocationUri]: 'https://gitlab.com/acme/widgets/-/jobs/7654321',
      [FULCIO_OID.runnerEnvironment]: 'gitlab-hosted',
      [FULCIO_OID.deploymentEnvironment]: undefined,
      [FULCIO_OID.githubWorkflowRepository]: undefined,
    };
    for (const [oid, value] of Object.entries(expected)) assert.equal(fulcioExtension(cert, oid), value, oid);
    verifyBundle(json, stack.trustedRoot);
  });

  it('has Fulcio refuse tokens real Fulcio would refuse', async () => {
    const refused = async (token: string) => {
      await assert.rejects(stack.signAttestation({ ...PACKAGE, token }), (err: unknown) => {
        assert.ok(err instanceof ProvenaError);
        assert.equal(err.code, 'signing_certificate_refused');
        return true;
      });
    };
    for (const forge of ['unknown-key', 'alg-none', 'hs256-public-key'] as const) {
      await refused(await stack.issuer.githubToken({}, { forge }));
    }
    await refused(await other.issuer.githubToken());
    await refused(await stack.issuer.githubToken({ aud: 'pypi' }));
    const now = Math.floor(Date.now() / 1000);
    await refused(await stack.issuer.githubToken({ iat: now - 900, exp: now - 600 }));
  });

  it('accepts any iss its issuer signs, so certificates can name the real GitHub issuer', async () => {
    const iss = 'https://token.actions.githubusercontent.com';
    const json = await stack.signAttestation({ ...PACKAGE, tokenOverrides: { iss } });
    assert.equal(fulcioExtension(bundleCertificate(json), FULCIO_OID.issuer), iss);
    verifyBundle(json, stack.trustedRoot, { extensions: { issuer: iss } });
  });

});
