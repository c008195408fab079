import { unprocessable } from '../errors.ts';
import { checkStatement, CONDA_PUBLISH_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, isRecord, kindOf, refuse, show } from '../attest/statement.ts';

/** What the user (or the channel) says the attested artifact is. */
export interface ArtifactExpectation {
  /** lowercase hex sha256 of the artifact */
  sha256: string;
  /** the file name the statement must name; null when only a digest was given (then the name is reported, not checked) */
  filename: string | null;
  /** the channel targetChannel must equal (normalised); null when not given (then it is reported, not compared) */
  channelUrl: string | null;
  /** the predicate type the statement must have: CEP-27's publish attestation unless asked otherwise */
  predicateType: string;
}

export interface CheckedStatement {
  predicateType: string;
  subjectName: string | null;
  sha256: string;
  /** CEP-27's predicate.targetChannel as signed; null when absent */
  targetChannel: string | null;
  /** which of the expectation's fields were compared (for the report: nothing unchecked goes unsaid) */
  compared: { name: boolean; channel: boolean };
}

/**
 * Checks the signed in-toto statement against the artifact. For CEP-27 statements every rule of the
 * server's check applies (core/attest/statement.ts: exactly one subject, a single sha256, the predicate
 * holds only targetChannel, ...); for another predicate type the user asked for, some subject must
 * carry the artifact's sha256. A statement of another predicate type than the one expected throws
 * `predicate_type` (with `extra.actual`), which channel verification may turn into a warning.
 */
export function checkAttestedStatement(payloadType: string, payload: Uint8Array, expect: ArtifactExpectation): CheckedStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) throw refuse('statement_payload_type', 'dsseEnvelope.payloadType', IN_TOTO_PAYLOAD_TYPE, JSON.stringify(payloadType));
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    throw refuse('statement_malformed', 'dsseEnvelope.payload', 'a UTF-8 JSON in-toto statement', (e as Error).message);
  }
  if (!isRecord(statement)) throw refuse('statement_malformed', 'statement', 'a JSON object', kindOf(statement));
  if (statement._type !== IN_TOTO_STATEMENT_V1) throw refuse('statement_type', '_type', IN_TOTO_STATEMENT_V1, show(statement._type));
  const predicateType = statement.predicateType;
  if (predicateType !== expect.predicateType) {
    throw unprocessable('predicate_type', `predicateType: expected ${expect.predicateType}, got ${show(predicateType)}`, {
      field: 'predicateType',
      expected: expect.predicateType,
      actual: typeof predicateType === 'string' ? predicateType : kindOf(predicateType),
    });
  }
  const sha256 = expect.sha256.toLowerCase();
  if (predicateType === CONDA_PUBLISH_PREDICATE_TYPE) {
    // The full CEP-27 check; a field the user did not pin is taken from the statement itself, so that
    // its shape is still checked (one subject, valid targetChannel) while the value is only reported.
    const subjects = statement.subject;
    const first: unknown = Array.isArray(subjects) ? subjects[0] : undefined;
    const signedName = isRecord(first) && typeof first.name === 'string' ? first.name : null;
    const predicate = statement.predicate;
    const signedTarget = isRecord(predicate) && typeof predicate.targetChannel === 'string' ? predicate.targetChannel : null;
    if (expect.filename === null && signedName === null && Array.isArray(subjects) && subjects.length === 1) {
      throw refuse('subject_malformed', 'subject[0].name', 'the package filename', isRecord(first) ? show(first.name) : kindOf(first));
    }
    const checked = checkStatement(statement, {
      filename: expect.filename ?? signedName ?? '',
      sha256,
      channelUrl: expect.channelUrl ?? signedTarget ?? 'https://channel.invalid',
    });
    return {
      predicateType,
      subjectName: checked.subject.name,
      sha256: checked.subject.sha256,
      targetChannel: checked.targetChannel,
      compared: { name: expect.filename !== null, channel: expect.channelUrl !== null && checked.targetChannel !== null },
    };
  }
  // another predicate type, asked for explicitly: the artifact must be one of the subjects
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length === 0 || subjects.length > 1024) {
    throw refuse('subject_count', 'subject', '1..1024 subjects', Array.isArray(subjects) ? `${subjects.length}` : kindOf(subjects));
  }
  const hit = subjects.find((s: unknown) => isRecord(s) && isRecord(s.digest) && typeof s.digest.sha256 === 'string' && s.digest.sha256.toLowerCase() === sha256);
  if (hit === undefined) throw refuse('subject_digest', 'subject[*].digest.sha256', `${sha256} (the artifact)`, 'no subject with that digest');
  const name = isRecord(hit) && typeof hit.name === 'string' ? hit.name : null;
  if (expect.filename !== null && name !== null && name !== expect.filename) {
    throw refuse('subject_name', 'subject.name', expect.filename, JSON.stringify(name));
  }
  return { predicateType: String(predicateType), subjectName: name, sha256, targetChannel: null, compared: { name: expect.filename !== null && name !== null, channel: false } };
}
