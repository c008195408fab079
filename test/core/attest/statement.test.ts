import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkPublishStatement,
  checkStatement,
  CONDA_PUBLISH_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  normalizeChannelUrl,
} from '../../../src/core/attest/statement.ts';
import { throwsCode } from './fixtures.ts';

const SHA = 'e3e0f35dec5b09b18baac8729d14115903b5adfd25065f8bbb90a2b3be5401e4';
const FILE = 'actionlint-1.7.12-h60d57d3_0.conda';
const CHANNEL = 'https://prefix.dev/github-releases';
const expect = { filename: FILE, sha256: SHA, channelUrl: CHANNEL };

function statement(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: FILE, digest: { sha256: SHA } }],
    predicateType: CONDA_PUBLISH_PREDICATE_TYPE,
    predicate: { targetChannel: CHANNEL },
    ...over,
  };
}

const payload = (s: unknown) => Buffer.from(JSON.stringify(s));

describe('checkPublishStatement', () => {
  it('accepts a CEP-27 statement for this file and channel', () => {
    const ok = checkPublishStatement(IN_TOTO_PAYLOAD_TYPE, payload(statement()), expect);
    assert.deepEqual(ok, { subject: { name: FILE, sha256: SHA }, targetChannel: CHANNEL });
  });

  it('accepts an absent or null predicate (targetChannel is optional in CEP-27)', () => {
    const { predicate: _, ...withoutPredicate } = statement();
    assert.equal(checkStatement(withoutPredicate, expect).targetChannel, null);
    assert.equal(checkStatement(statement({ predicate: null }), expect).targetChannel, null);
  });

  it('requires the in-toto payload type', () => {
    const e = throwsCode(() => checkPublishStatement('application/json', payload(statement()), expect), 'statement_payload_type');
    assert.equal(e.extra?.['expected'], IN_TOTO_PAYLOAD_TYPE);
    assert.equal(e.extra?.['actual'], 'application/json');
  });

  it('refuses a payload that is not a JSON object', () => {
    throwsCode(() => checkPublishStatement(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{'), expect), 'statement_malformed');
    throwsCode(() => checkPublishStatement(IN_TOTO_PAYLOAD_TYPE, Buffer.from([0xc3, 0x28]), expect), 'statement_malformed');
    throwsCode(() => checkStatement([statement()], expect), 'statement_malformed');
  });

  it('requires in-toto Statement v1', () => {
    throwsCode(() => checkStatement(statement({ _type: 'https://in-toto.io/Statement/v0.1' }), expect), 'statement_type');
    throwsCode(() => checkStatement(statement({ _type: undefined }), expect), 'statement_type');
  });

  it('requires the CEP-27 predicate type, not the draft one', () => {
    throwsCode(() => checkStatement(statement({ predicateType: 'https://schemas.conda.org/attestations/publish/v1' }), expect), 'predicate_type');
    throwsCode(() => checkStatement(statement({ predicateType: 'https://slsa.dev/provenance/v1' }), expect), 'predicate_type');
  });

  it('requires exactly one subject', () => {
    const one = { name: FILE, digest: { sha256: SHA } };
    throwsCode(() => checkStatement(statement({ subject: [] }), expect), 'subject_count');
    throwsCode(() => checkStatement(statement({ subject: [one, one] }), expect), 'subject_count');
    throwsCode(() => checkStatement(statement({ subject: one }), expect), 'subject_count');
    throwsCode(() => checkStatement(statement({ subject: ['x'] }), expect), 'subject_malformed');
  });

  it('requires the subject name to be the uploaded filename, exactly', () => {
    for (const name of ['actionlint-1.7.12-h60d57d3_0.tar.bz2', `noarch/${FILE}`, FILE.toUpperCase(), `${FILE} `, 42]) {
      const e = throwsCode(() => checkStatement(statement({ subject: [{ name, digest: { sha256: SHA } }] }), expect), 'subject_name');
      assert.equal(e.extra?.['expected'], FILE);
    }
  });

  it('requires a digest set of exactly one sha256', () => {
    const withDigest = (digest: unknown) => statement({ subject: [{ name: FILE, digest }] });
    throwsCode(() => checkStatement(withDigest({ sha512: 'ab' }), expect), 'subject_digest_algorithm');
    throwsCode(() => checkStatement(withDigest({}), expect), 'subject_digest_algorithm');
    throwsCode(() => checkStatement(withDigest({ sha256: SHA, md5: '00' }), expect), 'subject_digest_algorithm');
    throwsCode(() => checkStatement(withDigest('sha256:' + SHA), expect), 'subject_malformed');
  });

  it('requires the sha256 of the uploaded bytes, in lowercase hex', () => {
    const withSha = (sha256: unknown) => statement({ subject: [{ name: FILE, digest: { sha256 } }] });
    const other = '0'.repeat(64);
    const e = throwsCode(() => checkStatement(withSha(other), expect), 'subject_digest');
    assert.match(e.detail, new RegExp(`${SHA}.*${other}`));
    throwsCode(() => checkStatement(withSha(SHA.toUpperCase()), expect), 'subject_digest');
    throwsCode(() => checkStatement(withSha(SHA.slice(1)), expect), 'subject_digest');
    throwsCode(() => checkStatement(withSha(7), expect), 'subject_digest');
    // The server's own hash may come in either case.
    assert.equal(checkStatement(withSha(SHA), { ...expect, sha256: SHA.toUpperCase() }).subject.sha256, SHA);
  });

  it('refuses a predicate that is not {targetChannel}', () => {
    for (const predicate of [[], 'x', {}, { targetChannel: 5 }, { targetChannel: CHANNEL, buildType: 'x' }]) {
      throwsCode(() => checkStatement(statement({ predicate }), expect), 'predicate_invalid');
    }
  });

  it('refuses a targetChannel longer than 2083 characters or not an http(s) URL', () => {
    const long = `${CHANNEL}/${'a'.repeat(2083)}`;
    throwsCode(() => checkStatement(statement({ predicate: { targetChannel: long } }), { ...expect, channelUrl: long }), 'target_channel_invalid');
    for (const url of ['', 'prefix.dev/github-releases', 'ftp://prefix.dev/github-releases', 'file:///srv/channel']) {
      throwsCode(() => checkStatement(statement({ predicate: { targetChannel: url } }), expect), 'target_channel_invalid');
    }
  });
});

describe('targetChannel against the channel URL', () => {
  const check = (targetChannel: string, channelUrl = CHANNEL) => () => checkStatement(statement({ predicate: { targetChannel } }), { ...expect, channelUrl });

  it('accepts spellings equal after normalisation', () => {
    for (const url of [
      'https://prefix.dev/github-releases',
      'HTTPS://Prefix.DEV/github-releases',
      'https://prefix.dev:443/github-releases',
      'https://prefix.dev/github-releases/',
      'https://prefix.dev/github-releases//',
    ]) {
      assert.doesNotThrow(check(url), url);
    }
    assert.doesNotThrow(check('http://example.com:80/c', 'http://EXAMPLE.com/c/'));
    assert.doesNotThrow(check('https://prefix.dev/github-releases', 'https://prefix.dev/github-releases?x=1#y'));
  });

  it('refuses another channel, host, port or scheme', () => {
    for (const url of [
      'https://prefix.dev/conda-forge',
      'https://prefix.dev/github-releases-evil',
      'https://prefix.dev/GitHub-Releases',
      'https://prefix.dev/github',
      'https://prefix.dev',
      'https://prefix.dev.evil.example/github-releases',
      'https://evil.example/prefix.dev/github-releases',
      'https://prefix.dev:8443/github-releases',
      'http://prefix.dev/github-releases',
    ]) {
      const e = throwsCode(check(url), 'target_channel');
      assert.equal(e.extra?.['expected'], CHANNEL);
    }
  });

  it('refuses an attested URL that carries credentials, a query or a fragment', () => {
    for (const url of [
      'https://user:pw@prefix.dev/github-releases',
      'https://user@prefix.dev/github-releases',
      'https://prefix.dev/github-releases?channel=other',
      'https://prefix.dev/github-releases?',
      'https://prefix.dev/github-releases#x',
    ]) {
      const e = throwsCode(check(url), 'target_channel_invalid');
      assert.match(e.detail, /credentials|query|fragment/);
    }
  });
});

describe('normalizeChannelUrl', () => {
  it('lowercases scheme and host, drops default ports, trailing slashes, query, fragment and credentials', () => {
    assert.equal(normalizeChannelUrl('HTTPS://User:Pw@Prefix.Dev:443/My-Channel/?q=1#f'), 'https://prefix.dev/My-Channel');
    assert.equal(normalizeChannelUrl('http://h:80/'), 'http://h');
    assert.equal(normalizeChannelUrl('http://h:8080/c'), 'http://h:8080/c');
    assert.equal(normalizeChannelUrl('https://h/a/../c'), 'https://h/c');
  });

  it('refuses what is not an http(s) URL', () => {
    for (const url of ['', 'not a url', 'ftp://h/c', 'javascript:alert(1)']) throwsCode(() => normalizeChannelUrl(url), 'channel_url_invalid', 'invalid');
  });
});
