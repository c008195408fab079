import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certificateClaim, matchesPublisher, matchPublisher, publisherMismatch, requirePublisher } from '../../../src/core/attest/identity.ts';
import type { SignerIdentity } from '../../../src/core/attest/signer-identity.ts';
import type { TrustedPublisher } from '../../../src/core/publish/publisher.ts';
import { githubPublisher, throwsCode } from './fixtures.ts';

/** The identity in the actionlint certificate (hunger/octoconda, octoconda.yaml on main). */
const signer: SignerIdentity = {
  issuer: 'https://token.actions.githubusercontent.com',
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
};
const withSigner = (over: Partial<SignerIdentity>): SignerIdentity => ({ ...signer, ...over });
const reason = (s: SignerIdentity, p: TrustedPublisher, ctx = {}) => publisherMismatch(s, p, ctx)?.field ?? null;

describe('GitHub publishers', () => {
  it('match the certificate of their repository and workflow', () => {
    assert.equal(matchPublisher(signer, [githubPublisher()]).id, 'pub-github');
    assert.ok(matchesPublisher(signer, githubPublisher({ repository: 'Hunger/OctoConda' })), 'GitHub ignores case in OWNER/NAME');
  });

  it('match the workflow at the commit too (build config URI @ source digest)', () => {
    const atCommit = withSigner({ buildConfigUri: `https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@${signer.sourceRepositoryDigest}` });
    assert.ok(matchesPublisher(atCommit, githubPublisher()));
    const otherRef = withSigner({ buildConfigUri: 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/evil' });
    assert.equal(reason(otherRef, githubPublisher()), 'workflow', 'the ref must be the certificate’s own source ref or commit');
  });

  it('refuse another issuer', () => {
    for (const issuer of ['https://gitlab.com', 'https://token.actions.githubusercontent.com/', null]) {
      assert.equal(reason(withSigner({ issuer }), githubPublisher()), 'issuer');
    }
  });

  it('refuse another repository, also one that merely contains or extends the name', () => {
    for (const repository of ['hunger/octocond', 'hunger/octoconda-fork', 'unger/octoconda', 'evil/octoconda', 'hunger/octo']) {
      assert.equal(reason(signer, githubPublisher({ repository })), 'repository', repository);
    }
    for (const uri of ['https://github.com/hunger/octoconda/', 'https://github.com/hunger/octoconda.git', 'https://github.com.evil/hunger/octoconda', 'http://github.com/hunger/octoconda', null]) {
      assert.equal(reason(withSigner({ sourceRepositoryUri: uri }), githubPublisher()), 'repository', String(uri));
    }
  });

  it('refuse the same repository with another workflow', () => {
    assert.equal(reason(signer, githubPublisher({ workflow: 'release.yml' })), 'workflow');
  });

  it('never match a workflow as a substring, prefix or suffix', () => {
    const config = (file: string) => withSigner({ buildConfigUri: `https://github.com/hunger/octoconda/.github/workflows/${file}@refs/heads/main` });
    assert.equal(reason(config('preoctoconda.yaml'), githubPublisher()), 'workflow');
    assert.equal(reason(config('octoconda.yaml.bak'), githubPublisher()), 'workflow');
    assert.equal(reason(config('sub/octoconda.yaml'), githubPublisher()), 'workflow');
    assert.equal(reason(signer, githubPublisher({ workflow: 'conda.yaml' })), 'workflow');
    assert.equal(reason(signer, githubPublisher({ workflow: 'octoconda.yml' })), 'workflow');
    assert.equal(reason(signer, githubPublisher({ workflow: 'Octoconda.yaml' })), 'workflow', 'file names are case-sensitive');
    const elsewhere = withSigner({ buildConfigUri: 'https://github.com/hunger/octoconda/ci/octoconda.yaml@refs/heads/main' });
    assert.equal(reason(elsewhere, githubPublisher()), 'workflow', 'must be under .github/workflows/');
    const otherRepo = withSigner({ buildConfigUri: 'https://github.com/evil/octoconda/.github/workflows/octoconda.yaml@refs/heads/main' });
    assert.equal(reason(otherRepo, githubPublisher()), 'workflow', 'the workflow must live in the publisher repository');
    assert.equal(reason(withSigner({ buildConfigUri: null }), githubPublisher()), 'workflow');
    assert.equal(reason(withSigner({ sourceRepositoryRef: null, sourceRepositoryDigest: null }), githubPublisher()), 'workflow');
  });

  it('refuse a publish from pull_request_target', () => {
    assert.equal(reason(withSigner({ buildTrigger: 'pull_request_target' }), githubPublisher()), 'event');
  });
});

describe('environment pins (certificates carry no environment)', () => {
  const pinned = githubPublisher({ id: 'pub-env', environment: 'release' });

  it('do not match on a certificate alone', () => {
    const m = publisherMismatch(signer, pinned);
    assert.equal(m?.field, 'environment');
    assert.match(m?.expected ?? '', /release/);
    const e = throwsCode(() => matchPublisher(signer, [pinned]), 'signer_not_trusted');
    assert.equal(e.extra?.['field'], 'environment');
  });

  it('match when that same publisher authorised the upload with its token', () => {
    assert.ok(matchesPublisher(signer, pinned, { authorisedBy: pinned }));
    assert.equal(requirePublisher(signer, pinned, { authorisedBy: pinned }).id, 'pub-env');
  });

  it('do not match when another publisher authorised the upload', () => {
    const other = githubPublisher({ id: 'pub-other' });
    assert.equal(reason(signer, pinned, { authorisedBy: other }), 'environment');
  });

  it('leave unpinned publishers free, and the unpinned one wins when both exist', () => {
    const general = githubPublisher({ id: 'pub-general' });
    assert.equal(matchPublisher(signer, [pinned, general]).id, 'pub-general');
  });

  it('still require repository and workflow when the token vouches for the environment', () => {
    const elsewhere = githubPublisher({ id: 'pub-env', environment: 'release', workflow: 'release.yml' });
    assert.equal(reason(signer, elsewhere, { authorisedBy: elsewhere }), 'workflow');
  });
});

describe('GitLab publishers', () => {
  const gitlabSigner = withSigner({
    issuer: 'https://gitlab.com',
    subjectAlternativeName: { type: 'uri', value: 'https://gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main' },
    sourceRepositoryUri: 'https://gitlab.com/group/sub/project',
    sourceRepositoryRef: 'refs/heads/main',
    sourceRepositoryDigest: 'abc123',
    buildConfigUri: 'https://gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main',
    buildTrigger: 'push',
  });
  const gitlab = (over: Partial<Extract<TrustedPublisher, { kind: 'gitlab' }>> = {}): TrustedPublisher => ({
    id: 'pub-gitlab',
    channel: 'c',
    createdAt: '2026-01-01T00:00:00Z',
    kind: 'gitlab',
    project: 'group/sub/project',
    ciConfigPath: '.gitlab-ci.yml',
    environment: null,
    issuer: 'https://gitlab.com',
    ...over,
  });

  it('match their project and CI config', () => {
    assert.ok(matchesPublisher(gitlabSigner, gitlab()));
    assert.ok(matchesPublisher(gitlabSigner, gitlab({ project: 'Group/Sub/Project' })));
  });

  it('refuse another instance, project or config path', () => {
    assert.equal(reason(gitlabSigner, gitlab({ issuer: 'https://gitlab.example.com' })), 'issuer');
    assert.equal(reason(gitlabSigner, gitlab({ project: 'group/project' })), 'project');
    assert.equal(reason(gitlabSigner, gitlab({ project: 'group/sub/project2' })), 'project');
    assert.equal(reason(gitlabSigner, gitlab({ ciConfigPath: 'ci/.gitlab-ci.yml' })), 'ciConfigPath');
    assert.equal(reason(gitlabSigner, gitlab({ ciConfigPath: 'gitlab-ci.yml' })), 'ciConfigPath');
    assert.equal(reason(signer, gitlab()), 'issuer');
  });

  it('treat environment pins like GitHub', () => {
    const pinned = gitlab({ environment: 'production' });
    assert.equal(reason(gitlabSigner, pinned), 'environment');
    assert.ok(matchesPublisher(gitlabSigner, pinned, { authorisedBy: pinned }));
  });
});

describe('generic publishers', () => {
  const person = withSigner({
    issuer: 'https://github.com/login/oauth',
    subjectAlternativeName: { type: 'email', value: 'jku@goto.fi' },
    sourceRepositoryUri: null,
    buildConfigUri: null,
  });
  const generic = (claims: Record<string, string>, issuer = 'https://github.com/login/oauth'): TrustedPublisher => ({
    id: 'pub-generic',
    channel: 'c',
    createdAt: '2026-01-01T00:00:00Z',
    kind: 'generic',
    issuer,
    claims,
  });

  it('match issuer and every claim through its certificate field', () => {
    assert.ok(matchesPublisher(person, generic({ email: 'jku@goto.fi' })));
    assert.ok(matchesPublisher(person, generic({ sub: 'jku@goto.fi' })));
    assert.ok(matchesPublisher(signer, generic({ source_repository_uri: 'https://github.com/hunger/octoconda', build_trigger: 'schedule' }, signer.issuer!)));
  });

  it('refuse another issuer, another value, a near value, or a claim no certificate carries', () => {
    assert.equal(reason(person, generic({ email: 'jku@goto.fi' }, 'https://accounts.google.com')), 'issuer');
    assert.equal(reason(person, generic({ email: 'jku@goto.f' })), 'claims.email');
    assert.equal(reason(person, generic({ email: 'JKU@goto.fi' })), 'claims.email');
    assert.equal(reason(person, generic({ email: 'jku@goto.fi', repository: 'x/y' })), 'claims.repository');
    assert.equal(reason(signer, generic({ email: signer.subjectAlternativeName!.value }, signer.issuer!)), 'claims.email', 'a URI SAN is not an email');
    assert.equal(certificateClaim(person, 'toString'), undefined, 'object prototype names are not claims');
  });
});

describe('matchPublisher', () => {
  it('names what differed from the closest publisher', () => {
    const publishers = [githubPublisher({ id: 'a', repository: 'other/repo' }), githubPublisher({ id: 'b', workflow: 'release.yml' })];
    const e = throwsCode(() => matchPublisher(signer, publishers), 'signer_not_trusted');
    assert.equal(e.extra?.['publisher'], 'b');
    assert.equal(e.extra?.['field'], 'workflow');
    assert.match(e.detail, /release\.yml/);
    assert.match(e.detail, /octoconda\.yaml/);
  });

  it('refuses when the channel has no publishers', () => {
    throwsCode(() => matchPublisher(signer, []), 'signer_not_trusted');
  });

  it('requirePublisher insists on that very publisher', () => {
    const other = githubPublisher({ id: 'x', repository: 'hunger/other' });
    const e = throwsCode(() => requirePublisher(signer, other), 'signer_not_trusted');
    assert.equal(e.extra?.['field'], 'repository');
    assert.equal(requirePublisher(signer, githubPublisher()).id, 'pub-github');
  });
});
