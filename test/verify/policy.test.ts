import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignerIdentity } from '../../src/core/attest/signer-identity.ts';
import { isProvenaError } from '../../src/core/errors.ts';
import { compileAnchoredRegExp, compileGlob } from '../../src/core/policy/glob.ts';
import { matchIdentity, ruleFromFlags, ruleMismatch, workflowPath } from '../../src/core/policy/identity.ts';
import { channelPolicyFor, parsePolicyText } from '../../src/core/policy/policy.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';

function signer(over: Partial<SignerIdentity> = {}): SignerIdentity {
  const nulls = Object.fromEntries(
    ['buildSignerDigest', 'runnerEnvironment', 'sourceRepositoryDigest', 'sourceRepositoryIdentifier', 'sourceRepositoryOwnerUri', 'sourceRepositoryOwnerIdentifier', 'buildConfigDigest', 'buildTrigger', 'runInvocationUri', 'sourceRepositoryVisibilityAtSigning'].map((k) => [k, null]),
  );
  return {
    ...(nulls as object),
    issuer: GITHUB,
    subjectAlternativeName: { type: 'uri', value: 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/tags/v1.0' },
    buildSignerUri: 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/tags/v1.0',
    sourceRepositoryUri: 'https://github.com/acme/widgets',
    sourceRepositoryRef: 'refs/tags/v1.0',
    buildConfigUri: 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/tags/v1.0',
    ...over,
  } as SignerIdentity;
}

function throwsCode(fn: () => unknown, code: string, pattern?: RegExp) {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(isProvenaError(caught), `expected ${code}`);
  assert.equal(caught.code, code, caught.detail);
  if (pattern) assert.match(caught.detail, pattern);
}

const TOML = `
version = 1
unlisted_channels = "warn"

[[channels]]
url = "https://conda.example.org"
[[channels.identities]]
issuer = "${GITHUB}"
repository = "acme/*"

[[channels]]
url = "https://conda.example.org/acme/"
missing = "warn"
unknown_predicate = "ignore"
transparency_log = "require"
[[channels.identities]]
issuer = "${GITHUB}"
repository = "acme/widgets"
workflow = "release.yml"
ref = "refs/tags/v*"

[[channels]]
url = "https://conda.anaconda.org/conda-forge"
skip = true
`;

const YAML = `
version: 1
unlisted_channels: warn
channels:
  - url: https://conda.example.org
    identities:
      - issuer: ${GITHUB}
        repository: acme/*
  - url: https://conda.example.org/acme/
    missing: warn
    unknown_predicate: ignore
    transparency_log: require
    identities:
      - issuer: ${GITHUB}
        repository: acme/widgets
        workflow: release.yml
        ref: refs/tags/v*
  - url: https://conda.anaconda.org/conda-forge
    skip: true
`;

describe('identity globs', () => {
  it('match the whole value: * stays within a segment, ** crosses them, everything else is literal', () => {
    const g = compileGlob('acme/*', 't');
    assert.ok(g.test('acme/widgets'));
    assert.ok(!g.test('acme/widgets/extra'));
    assert.ok(!g.test('evil/acme/widgets'), 'anchored at the start');
    assert.ok(!g.test('acme'), 'the slash is literal');
    assert.ok(compileGlob('group/**', 't').test('group/sub/project'));
    assert.ok(compileGlob('v1.?', 't').test('v1.2'));
    assert.ok(!compileGlob('v1.2', 't').test('v1x2'), 'a dot is a dot, not "any character"');
    assert.ok(!compileGlob('a+b', 't').test('aab'), 'regexp syntax is literal');
    assert.ok(compileGlob('a\\*b', 't').test('a*b'));
    assert.ok(!compileGlob('a\\*b', 't').test('axb'));
    throwsCode(() => compileGlob('', 't'), 'policy_invalid');
    throwsCode(() => compileGlob('*a'.repeat(9), 't'), 'policy_invalid', /wildcards/);
  });

  it('anchor user regular expressions at both ends (cosign does not)', () => {
    const re = compileAnchoredRegExp('https://github.com/acme/.*', 't');
    assert.ok(re.test('https://github.com/acme/widgets/.github/workflows/x.yml@refs/heads/main'));
    assert.ok(!re.test('https://evil.example/https://github.com/acme/x'));
    assert.ok(!compileAnchoredRegExp('acme', 't').test('https://github.com/acme/widgets'));
    assert.ok(!compileAnchoredRegExp('a|b', 't').test('xa'), 'alternation is grouped inside the anchors');
    throwsCode(() => compileAnchoredRegExp('(', 't'), 'regexp_invalid');
  });
});

describe('identity rules', () => {
  it('--repo means GitHub Actions and that repository, owner and name ignoring case, nothing more or less', () => {
    const rule = ruleFromFlags({ repo: 'Acme/Widgets' });
    assert.equal(ruleMismatch(signer(), rule), null);
    assert.deepEqual(ruleMismatch(signer({ sourceRepositoryUri: 'https://github.com/acme/widgets-fork' }), rule)?.field, 'repository');
    assert.deepEqual(ruleMismatch(signer({ issuer: 'https://gitlab.com' }), rule)?.field, 'issuer');
    assert.equal(ruleMismatch(signer({ issuer: 'https://ghe.example' }), ruleFromFlags({ repo: 'acme/widgets', certificateOidcIssuer: 'https://ghe.example' })), null);
  });

  it('--signer-workflow compares the build signer without its ref; --ref the source ref exactly', () => {
    const rule = ruleFromFlags({ signerWorkflow: 'acme/widgets/.github/workflows/release.yml', ref: 'refs/tags/v1.0' });
    assert.equal(ruleMismatch(signer(), rule), null);
    assert.equal(ruleMismatch(signer({ buildSignerUri: 'https://github.com/acme/widgets/.github/workflows/prerelease.yml@refs/tags/v1.0' }), rule)?.field, 'signerWorkflow');
    assert.equal(ruleMismatch(signer({ sourceRepositoryRef: 'refs/tags/v1.0-rc1' }), rule)?.field, 'ref');
  });

  it('keyless verification needs an identity and an issuer', () => {
    throwsCode(() => ruleFromFlags({ certificateOidcIssuer: GITHUB }), 'identity_required');
    throwsCode(() => ruleFromFlags({ certificateIdentity: 'x@example.com' }), 'issuer_required');
    throwsCode(() => ruleFromFlags({ certificateIdentity: 'a', certificateIdentityRegexp: 'b', certificateOidcIssuer: GITHUB }), 'flags_conflict');
    throwsCode(() => ruleFromFlags({ repo: 'not a repo' }), 'flags_invalid');
    throwsCode(() => ruleFromFlags({ signerWorkflow: 'acme/widgets' }), 'flags_invalid');
  });

  it('workflow path: inside the source repository only (GitHub "/", GitLab "//")', () => {
    assert.equal(workflowPath(signer()), '.github/workflows/release.yml');
    assert.equal(workflowPath(signer({ sourceRepositoryUri: 'https://gitlab.com/acme/widgets', buildConfigUri: 'https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main' })), '.gitlab-ci.yml');
    assert.equal(workflowPath(signer({ buildConfigUri: 'https://github.com/other/repo/.github/workflows/release.yml@refs/heads/main' })), null);
  });
});

describe('verification policies (TOML or YAML)', () => {
  it('reads the same policy from TOML and YAML', () => {
    for (const [text, source] of [[TOML, 'policy.toml'], [YAML, 'policy.yaml']]) {
      const p = parsePolicyText(text!, source!);
      assert.equal(p.unlistedChannels, 'warn');
      assert.equal(p.localPackages, 'error');
      assert.deepEqual(p.channels.map((c) => [c.url, c.skip, c.missing, c.unknownPredicate, c.transparencyLog, c.identities.length]), [
        ['https://conda.example.org', false, 'error', 'error', 'check', 1],
        ['https://conda.example.org/acme', false, 'warn', 'ignore', 'require', 1],
        ['https://conda.anaconda.org/conda-forge', true, 'error', 'error', 'check', 0],
      ]);
    }
  });

  it('picks the longest URL prefix, on a path segment boundary, case of the host ignored', () => {
    const p = parsePolicyText(TOML, 'policy.toml');
    assert.equal(channelPolicyFor(p, 'https://conda.example.org/acme')?.url, 'https://conda.example.org/acme');
    assert.equal(channelPolicyFor(p, 'https://CONDA.example.org/acme/label/dev/')?.url, 'https://conda.example.org/acme');
    assert.equal(channelPolicyFor(p, 'https://conda.example.org/acme-evil')?.url, 'https://conda.example.org', 'acme-evil is not under acme');
    assert.equal(channelPolicyFor(p, 'https://conda.example.org.evil.com/acme'), null);
    assert.equal(channelPolicyFor(p, 'https://conda.anaconda.org/conda-forge')?.skip, true);
  });

  it('matches identities by issuer, repository glob, workflow file and ref glob', () => {
    const acme = channelPolicyFor(parsePolicyText(TOML, 'p.toml'), 'https://conda.example.org/acme')!;
    assert.ok('match' in matchIdentity(signer(), acme.identities));
    const wrongWorkflow = matchIdentity(signer({ buildConfigUri: 'https://github.com/acme/widgets/.github/workflows/prerelease.yml@refs/tags/v1.0' }), acme.identities);
    assert.ok('mismatch' in wrongWorkflow && wrongWorkflow.mismatch?.field === 'workflow');
    const wrongRef = matchIdentity(signer({ sourceRepositoryRef: 'refs/heads/main' }), acme.identities);
    assert.ok('mismatch' in wrongRef && wrongRef.mismatch?.field === 'ref');
    const root = channelPolicyFor(parsePolicyText(TOML, 'p.toml'), 'https://conda.example.org/other')!;
    assert.ok('match' in matchIdentity(signer({ sourceRepositoryUri: 'https://github.com/ACME/gadgets' }), root.identities));
    const evil = matchIdentity(signer({ sourceRepositoryUri: 'https://github.com/acme-evil/widgets' }), root.identities);
    assert.ok('mismatch' in evil && evil.mismatch?.field === 'repository');
  });

  it('refuses policies that would trust too much or say something unread, naming the place', () => {
    const bad = (text: string, pattern: RegExp) => throwsCode(() => parsePolicyText(text, 'p.toml'), 'policy_invalid', pattern);
    bad('[[channels]]\nurl = "https://h/c"\n[[channels.identities]]\nissuer = "https://i"\n', /channels\[0\]\.identities\[0\]: name who signed/);
    bad('[[channels]]\nurl = "https://h/c"\n', /channels\[0\]\.identities: expected at least one identity/);
    bad('[[channels]]\nurl = "https://h/c"\nmissing = "maybe"\n[[channels.identities]]\nissuer = "i"\nrepository = "a/b"\n', /missing: expected one of error, warn, ignore/);
    bad('[[channels]]\nurl = "https://h/c"\nrepo = "a/b"\n', /unknown key "repo"/);
    bad('[[channels]]\nurl = "https://h/c"\nskip = true\n[[channels.identities]]\nissuer = "i"\nrepository = "a/b"\n', /none when skip = true/);
    bad('[[channels]]\nurl = "ftp://h/c"\nskip = true\n', /url: expected an http\(s\) URL/);
    bad('channels = []\n', /non-empty list/);
    bad('version = 2\n[[channels]]\nurl = "https://h"\nskip = true\n', /version: expected 1/);
    bad('[[channels]]\nurl = "https://h/c"\nskip = true\n[[channels]]\nurl = "https://h/c/"\nskip = true\n', /already the url of/);
    bad('[[channels]\n', /not valid TOML/);
  });
});
