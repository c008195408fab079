import { ASN1Obj, type X509Certificate } from '@sigstore/core';
import { unprocessable } from '../errors.ts';
import { encodeDer } from './der.ts';

/**
 * Who signed, as the Fulcio certificate states it. Read from the certificate directly, never through
 * @sigstore/verify's policy (its SAN match is an unanchored regular expression). Fields are null when the
 * certificate does not carry them. See https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md.
 */
export interface SignerIdentity {
  /** OIDC issuer (1.3.6.1.4.1.57264.1.8, or the legacy raw 1.1) */
  issuer: string | null;
  subjectAlternativeName: { type: 'uri' | 'email' | 'other'; value: string } | null;
  buildSignerUri: string | null; // 1.9
  buildSignerDigest: string | null; // 1.10
  runnerEnvironment: string | null; // 1.11
  sourceRepositoryUri: string | null; // 1.12
  sourceRepositoryDigest: string | null; // 1.13 (commit)
  sourceRepositoryRef: string | null; // 1.14
  sourceRepositoryIdentifier: string | null; // 1.15
  sourceRepositoryOwnerUri: string | null; // 1.16
  sourceRepositoryOwnerIdentifier: string | null; // 1.17
  buildConfigUri: string | null; // 1.18
  buildConfigDigest: string | null; // 1.19
  buildTrigger: string | null; // 1.20 (event)
  runInvocationUri: string | null; // 1.21
  sourceRepositoryVisibilityAtSigning: string | null; // 1.22
}

const FULCIO = '1.3.6.1.4.1.57264.1.';
const LEGACY_ISSUER = `${FULCIO}1`;
const ISSUER = `${FULCIO}8`;
const OTHERNAME_USERNAME = `${FULCIO}7`;

const DER_FIELDS = {
  buildSignerUri: 9,
  buildSignerDigest: 10,
  runnerEnvironment: 11,
  sourceRepositoryUri: 12,
  sourceRepositoryDigest: 13,
  sourceRepositoryRef: 14,
  sourceRepositoryIdentifier: 15,
  sourceRepositoryOwnerUri: 16,
  sourceRepositoryOwnerIdentifier: 17,
  buildConfigUri: 18,
  buildConfigDigest: 19,
  buildTrigger: 20,
  runInvocationUri: 21,
  sourceRepositoryVisibilityAtSigning: 22,
} as const;

/** Extracts the signer; throws `certificate_identity_invalid` when an identity field is ambiguous or malformed. */
export function extractSignerIdentity(cert: X509Certificate): SignerIdentity {
  const byOid = new Map<string, Buffer>();
  for (const ext of cert.extensions) {
    const oid = ext.subs[0]?.toOID();
    const value = ext.subs[ext.subs.length - 1]?.value;
    if (oid === undefined || value === undefined) continue;
    // A second copy of an identity extension would let a reader pick either one.
    if (byOid.has(oid) && (oid.startsWith(FULCIO) || oid === '2.5.29.17')) refuse(`extension ${oid}`, 'present once', 'present twice');
    byOid.set(oid, value);
  }
  const legacyIssuer = byOid.has(LEGACY_ISSUER) ? utf8(byOid.get(LEGACY_ISSUER)!, LEGACY_ISSUER) : null;
  const issuer = byOid.has(ISSUER) ? derUtf8String(byOid.get(ISSUER)!, ISSUER) : null;
  if (issuer !== null && legacyIssuer !== null && issuer !== legacyIssuer) {
    refuse('OIDC issuer', `${ISSUER} and ${LEGACY_ISSUER} to agree`, `${JSON.stringify(issuer)} vs ${JSON.stringify(legacyIssuer)}`);
  }
  const identity: SignerIdentity = {
    issuer: issuer ?? legacyIssuer,
    subjectAlternativeName: subjectAltName(byOid.get('2.5.29.17')),
    buildSignerUri: null,
    buildSignerDigest: null,
    runnerEnvironment: null,
    sourceRepositoryUri: null,
    sourceRepositoryDigest: null,
    sourceRepositoryRef: null,
    sourceRepositoryIdentifier: null,
    sourceRepositoryOwnerUri: null,
    sourceRepositoryOwnerIdentifier: null,
    buildConfigUri: null,
    buildConfigDigest: null,
    buildTrigger: null,
    runInvocationUri: null,
    sourceRepositoryVisibilityAtSigning: null,
  };
  for (const [field, arc] of Object.entries(DER_FIELDS) as [keyof typeof DER_FIELDS, number][]) {
    const raw = byOid.get(`${FULCIO}${arc}`);
    if (raw !== undefined) identity[field] = derUtf8String(raw, `${FULCIO}${arc}`);
  }
  return identity;
}

/** Fulcio issues exactly one SAN: a URI (workloads), an email (people) or its username otherName. */
function subjectAltName(extnValue: Buffer | undefined): SignerIdentity['subjectAlternativeName'] {
  if (extnValue === undefined) return null;
  const names = parse(extnValue, 'subjectAltName').subs;
  if (names.length !== 1) refuse('subjectAltName', 'exactly one name', `${names.length}`);
  const name = names[0]!;
  if (name.tag.isContextSpecific(0x06)) return { type: 'uri', value: ia5(name.value, 'subjectAltName URI') };
  if (name.tag.isContextSpecific(0x01)) return { type: 'email', value: ia5(name.value, 'subjectAltName email') };
  if (name.tag.isContextSpecific(0x00) && name.subs[0]?.toOID() === OTHERNAME_USERNAME) {
    const inner = name.subs[1]?.subs[0];
    if (inner !== undefined) return { type: 'other', value: derUtf8String(encodeDer(inner), 'subjectAltName otherName') };
  }
  return refuse('subjectAltName', 'a URI, an email or a Fulcio username', `a name with tag ${name.tag.number}`);
}

/** Fulcio writes extensions from 1.8 on as DER UTF8String; anything else is refused rather than guessed. */
function derUtf8String(der: Buffer, what: string): string {
  const obj = parse(der, what);
  if (!obj.tag.isUniversal() || obj.tag.number !== 0x0c || obj.tag.constructed) refuse(what, 'a DER UTF8String', `tag ${obj.tag.number}`);
  return utf8(obj.value, what);
}

function parse(der: Buffer, what: string): ASN1Obj {
  let obj: ASN1Obj;
  try {
    obj = ASN1Obj.parseBuffer(Buffer.from(der));
  } catch (e) {
    return refuse(what, 'DER', (e as Error).message);
  }
  if (!encodeDer(obj).equals(der)) refuse(what, 'exactly one DER value', 'trailing or non-canonical bytes');
  return obj;
}

function utf8(bytes: Buffer, what: string): string {
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (/\p{Cc}/u.test(s)) refuse(what, 'text without control characters', JSON.stringify(s));
    return s;
  } catch (e) {
    if (e instanceof Error && e.name === 'ProvenaError') throw e;
    return refuse(what, 'UTF-8', 'invalid bytes');
  }
}

function ia5(bytes: Buffer, what: string): string {
  if (!/^[\x21-\x7e]+$/.test(bytes.toString('latin1'))) refuse(what, 'printable ASCII', JSON.stringify(bytes.toString('latin1')));
  return bytes.toString('ascii');
}

function refuse(field: string, expected: string, actual: string): never {
  throw unprocessable('certificate_identity_invalid', `certificate ${field}: expected ${expected}, got ${actual}`, { field });
}
