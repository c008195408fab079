import { unprocessable } from '../errors.ts';
import { normalizeChannelUrl, targetChannelProblem } from './channel-url.ts';

export { normalizeChannelUrl } from './channel-url.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const CONDA_PUBLISH_PREDICATE_TYPE = 'https://schemas.conda.org/attestations-publish-1.schema.json';

/** A CEP-27 publish statement whose every field was checked against the upload. */
export interface PublishStatement {
  subject: { name: string; sha256: string };
  /** the attested channel as signed (null when the predicate is absent or null) */
  targetChannel: string | null;
}

export interface StatementExpectation {
  filename: string;
  /** sha256 of the uploaded bytes, hex */
  sha256: string;
  /** URL of the channel the package is uploaded to */
  channelUrl: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Checks the DSSE payload type and payload against CEP-27 and the upload; throws the first failing check. */
export function checkPublishStatement(payloadType: string, payload: Uint8Array, expect: StatementExpectation): PublishStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw refuse('statement_payload_type', 'dsseEnvelope.payloadType', IN_TOTO_PAYLOAD_TYPE, payloadType);
  }
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    throw refuse('statement_malformed', 'dsseEnvelope.payload', 'a UTF-8 JSON in-toto statement', (e as Error).message);
  }
  return checkStatement(statement, expect);
}

/** The statement-level checks, on an already decoded statement. */
export function checkStatement(statement: unknown, expect: StatementExpectation): PublishStatement {
  if (!isRecord(statement)) throw refuse('statement_malformed', 'statement', 'a JSON object', kindOf(statement));
  if (statement['_type'] !== IN_TOTO_STATEMENT_V1) throw refuse('statement_type', '_type', IN_TOTO_STATEMENT_V1, show(statement['_type']));
  if (statement['predicateType'] !== CONDA_PUBLISH_PREDICATE_TYPE) {
    throw refuse('predicate_type', 'predicateType', CONDA_PUBLISH_PREDICATE_TYPE, show(statement['predicateType']));
  }
  const subjects = statement['subject'];
  if (!Array.isArray(subjects) || subjects.length !== 1) {
    throw refuse('subject_count', 'subject', 'exactly one subject', Array.isArray(subjects) ? `${subjects.length}` : kindOf(subjects));
  }
  const subject: unknown = subjects[0];
  if (!isRecord(subject)) throw refuse('subject_malformed', 'subject[0]', 'an object', kindOf(subject));
  if (subject['name'] !== expect.filename) throw refuse('subject_name', 'subject[0].name', expect.filename, show(subject['name']));
  const digest = subject['digest'];
  if (!isRecord(digest)) throw refuse('subject_malformed', 'subject[0].digest', 'an object', kindOf(digest));
  const algorithms = Object.keys(digest);
  // CEP-27: "a single sha256 entry". A second digest could not be checked here, yet would read as attested.
  if (algorithms.length !== 1 || algorithms[0] !== 'sha256') {
    throw refuse('subject_digest_algorithm', 'subject[0].digest', 'exactly one entry, sha256', algorithms.join(', ') || 'none');
  }
  const sha = digest['sha256'];
  if (typeof sha !== 'string' || !SHA256_HEX.test(sha)) {
    throw refuse('subject_digest', 'subject[0].digest.sha256', '64 lowercase hex digits', show(sha));
  }
  const expected = expect.sha256.toLowerCase();
  if (sha !== expected) throw refuse('subject_digest', 'subject[0].digest.sha256', `${expected} (the uploaded file)`, sha);
  return { subject: { name: expect.filename, sha256: sha }, targetChannel: checkPredicate(statement['predicate'], expect.channelUrl) };
}

function checkPredicate(predicate: unknown, channelUrl: string): string | null {
  if (predicate === undefined || predicate === null) return null;
  if (!isRecord(predicate)) throw refuse('predicate_invalid', 'predicate', 'absent, null or {"targetChannel": URL}', kindOf(predicate));
  const unknown = Object.keys(predicate).filter((k) => k !== 'targetChannel');
  // Only targetChannel has a meaning Provena can check; an unknown claim would be stored as if verified.
  if (unknown.length > 0) throw refuse('predicate_invalid', 'predicate', 'only targetChannel', `also ${unknown.join(', ')}`);
  const target = predicate['targetChannel'];
  if (typeof target !== 'string') throw refuse('predicate_invalid', 'predicate.targetChannel', 'a URL string', kindOf(target));
  const problem = targetChannelProblem(target);
  if (problem !== null) throw refuse('target_channel_invalid', 'predicate.targetChannel', 'a plain http(s) channel URL', `${abbreviate(target)} (${problem})`);
  const attested = normalizeChannelUrl(target);
  const channel = normalizeChannelUrl(channelUrl);
  if (attested !== channel) throw refuse('target_channel', 'predicate.targetChannel', channel, `${attested} (normalised)`);
  return target;
}

/** A refusal naming the field, what was expected and what came (shared by the server's and the user's checks). */
export function refuse(code: string, field: string, expected: string, actual: string) {
  return unprocessable(code, `${field}: expected ${expected}, got ${actual}`, { field, expected, actual });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function kindOf(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : v === undefined ? 'nothing' : typeof v;
}

export function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(abbreviate(v)) : kindOf(v);
}

function abbreviate(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}
