import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePublisher, parsePublisherSpec } from '../../../src/core/publish/publisher.ts';
import { throwsCode } from './fixtures.ts';

const refused = (input: unknown, field: string) => {
  const e = throwsCode(() => parsePublisherSpec(input), 'invalid_publisher');
  assert.equal(e.extra?.['field'], field, e.detail);
};

describe('parsePublisherSpec: github', () => {
  const gh = (over: Record<string, unknown>) => ({ kind: 'github', repository: 'hunger/octoconda', workflow: 'release.yml', ...over });

  it('accepts OWNER/NAME, a workflow file name and an optional environment', () => {
    assert.deepEqual(parsePublisherSpec(gh({})), { kind: 'github', repository: 'hunger/octoconda', workflow: 'release.yml', environment: null });
    assert.equal((parsePublisherSpec(gh({ environment: 'pypi release' })) as { environment: string }).environment, 'pypi release');
    assert.doesNotThrow(() => parsePublisherSpec(gh({ repository: 'my-org/my.repo_2', workflow: 'ci.build-1.yaml' })));
  });

  it('refuses repository path tricks', () => {
    for (const repository of ['hunger', 'hunger/octoconda/extra', '../octoconda', 'hunger/..', 'hunger/.', '/octoconda', 'hunger/', 'hun ger/x', 'hunger/octo%2Fconda', 'hunger\\octoconda', '-hunger/x', 'hunger-/x', 'hunger/x.git', 'a'.repeat(40) + '/x', 'https://github.com/hunger/octoconda', '']) {
      refused(gh({ repository }), 'repository');
    }
  });

  it('refuses a workflow that is not one file name under .github/workflows', () => {
    for (const workflow of ['.github/workflows/release.yml', '../release.yml', 'release', 'release.yml@refs/heads/main', 'release.yml ', 'sub/release.yml', 'release.json', '.yml', 'release..yml', 'release%2F.yml']) {
      refused(gh({ workflow }), 'workflow');
    }
  });

  it('refuses an empty or control-character environment, and wrong types', () => {
    refused(gh({ environment: '' }), 'environment');
    refused(gh({ environment: ' release' }), 'environment');
    refused(gh({ environment: 'rel\nease' }), 'environment');
    refused(gh({ environment: 5 }), 'environment');
    refused(gh({ repository: 5 }), 'repository');
  });

  it('refuses unknown fields and unknown kinds', () => {
    refused(gh({ owner_id: '1' }), 'owner_id');
    refused({ kind: 'bitbucket' }, 'kind');
    refused(null, 'publisher');
  });
});

describe('parsePublisherSpec: gitlab', () => {
  const gl = (over: Record<string, unknown>) => ({ kind: 'gitlab', project: 'group/sub/project', ciConfigPath: '.gitlab-ci.yml', ...over });

  it('accepts GROUP[/SUB]/PROJECT and a config path; defaults the issuer to gitlab.com', () => {
    assert.deepEqual(parsePublisherSpec(gl({})), { kind: 'gitlab', project: 'group/sub/project', ciConfigPath: '.gitlab-ci.yml', environment: null, issuer: 'https://gitlab.com' });
    assert.equal((parsePublisherSpec(gl({ issuer: 'https://gitlab.example.com', ciConfigPath: 'ci/release.yml' })) as { issuer: string }).issuer, 'https://gitlab.example.com');
  });

  it('refuses project and config path tricks', () => {
    for (const project of ['project', 'group/../project', 'group//project', 'group/project.git', '/group/project', 'group/pro ject']) refused(gl({ project }), 'project');
    for (const ciConfigPath of ['/etc/ci.yml', '../.gitlab-ci.yml', 'ci/./x.yml', '.gitlab-ci.yml@main', 'ci.json', 'a//b.yml']) refused(gl({ ciConfigPath }), 'ciConfigPath');
  });

  it('takes only one spelling of an issuer: https, no trailing slash, credentials, query or fragment', () => {
    for (const issuer of ['http://gitlab.com', 'https://gitlab.com/', 'https://u:p@gitlab.com', 'https://gitlab.com?x', 'https://gitlab.com#x', 'https://GITLAB.com', 'gitlab.com']) {
      refused(gl({ issuer }), 'issuer');
    }
  });
});

describe('parsePublisherSpec: generic', () => {
  it('needs an issuer and at least one claim', () => {
    assert.deepEqual(parsePublisherSpec({ kind: 'generic', issuer: 'https://accounts.google.com', claims: { email: 'ci@example.iam.gserviceaccount.com' } }), {
      kind: 'generic',
      issuer: 'https://accounts.google.com',
      claims: { email: 'ci@example.iam.gserviceaccount.com' },
    });
    refused({ kind: 'generic', issuer: 'https://accounts.google.com', claims: {} }, 'claims');
    refused({ kind: 'generic', issuer: 'https://accounts.google.com' }, 'claims');
    refused({ kind: 'generic', issuer: 'https://accounts.google.com', claims: { Email: 'x' } }, 'claims');
    refused({ kind: 'generic', issuer: 'https://accounts.google.com', claims: { email: 5 } }, 'claims.email');
    refused({ kind: 'generic', issuer: 'ftp://x', claims: { sub: 'x' } }, 'issuer');
  });
});

describe('describePublisher', () => {
  it('names a publisher on one line', () => {
    assert.equal(describePublisher({ kind: 'github', repository: 'a/b', workflow: 'r.yml', environment: 'prod' }), 'github a/b workflow r.yml environment prod');
    assert.equal(describePublisher({ kind: 'generic', issuer: 'https://i', claims: { sub: 's', email: 'e' } }), 'generic https://i email=e sub=s');
  });
});
