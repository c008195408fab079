import type { ASN1Obj, RFC3161Timestamp } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { unprocessable } from '../errors.ts';
import { encodeDer } from './der.ts';

/**
 * @sigstore/verify checks what an RFC 3161 token signs (TSTInfo through the signed attributes) and reads the
 * rest of the CMS structure by position without looking at tags, versions or algorithm names; an unknown
 * signature algorithm even falls back to a default. None of that is covered by a signature, so the token
 * must have the one shape a timestamp authority writes (RFC 3161 §2.4.2, RFC 5652 §5):
 *
 *   TimeStampResp ::= SEQ { status SEQ { INTEGER 0|1 }, ContentInfo SEQ { OID signedData, [0] {
 *     SignedData SEQ { INTEGER 3, SET { digestAlg }, SEQ { OID tstInfo, [0] { OCTET STRING { TSTInfo } } },
 *                      [0] certificates OPTIONAL,
 *                      SET { SignerInfo SEQ { INTEGER 1, SEQ sid, digestAlg, [0] signedAttrs, sigAlg, OCTET STRING } } } } } }
 */
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const SEQUENCE = 16;
const SET = 17;

/** Structure check, before any cryptography: throws `timestamp_invalid` naming the first odd field. */
export function assertTimestampTokenShape(ts: RFC3161Timestamp, at: string): void {
  const resp = node(ts.root, SEQUENCE, 2, at);
  const status = node(resp.subs[0], SEQUENCE, 1, `${at}.status`);
  const granted = integer(status.subs[0], `${at}.status`);
  if (granted !== 0n && granted !== 1n) fail(`${at}.status`, 'granted (0) or grantedWithMods (1)', `${granted}`);

  const contentInfo = node(resp.subs[1], SEQUENCE, 2, `${at}.timeStampToken`);
  oid(contentInfo.subs[0], OID_SIGNED_DATA, `${at}.timeStampToken.contentType`);
  const explicit = context(contentInfo.subs[1], 0, 1, `${at}.timeStampToken.content`);
  const signedData = node(explicit.subs[0], SEQUENCE, -1, `${at}.signedData`);
  const subs = signedData.subs;
  const optional = subs.slice(3, -1);
  if (subs.length < 4 || optional.length > 1 || (optional[0] !== undefined && !optional[0].tag.isContextSpecific(0x00))) {
    fail(`${at}.signedData`, 'version, digestAlgorithms, encapContentInfo, [certificates], signerInfos', `${subs.length} fields`);
  }
  if (integer(subs[0], `${at}.signedData.version`) !== 3n) fail(`${at}.signedData.version`, '3', 'another version');
  const digestAlgorithms = node(subs[1], SET, 1, `${at}.signedData.digestAlgorithms`);
  const encap = node(subs[2], SEQUENCE, 2, `${at}.signedData.encapContentInfo`);
  oid(encap.subs[0], OID_TST_INFO, `${at}.signedData.encapContentInfo.eContentType`);
  const eContent = context(encap.subs[1], 0, 1, `${at}.signedData.encapContentInfo.eContent`);
  const octets = eContent.subs[0];
  if (octets === undefined || !octets.tag.isOctetString() || octets.tag.constructed || octets.subs.length !== 1) {
    fail(`${at}.eContent`, 'a primitive OCTET STRING holding TSTInfo', 'another value');
  }
  node(octets.subs[0], SEQUENCE, -1, `${at}.tstInfo`);
  if (optional[0] !== undefined) optional[0].subs.forEach((c, i) => node(c, SEQUENCE, 3, `${at}.signedData.certificates[${i}]`));

  const signerInfos = node(subs[subs.length - 1], SET, 1, `${at}.signerInfos`);
  // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature — no [1] unsignedAttrs.
  const signer = node(signerInfos.subs[0], SEQUENCE, 6, `${at}.signerInfo`);
  if (integer(signer.subs[0], `${at}.signerInfo.version`) !== 1n) fail(`${at}.signerInfo.version`, '1 (issuer and serial number)', 'another version');
  const sid = node(signer.subs[1], SEQUENCE, 2, `${at}.signerInfo.sid`);
  node(sid.subs[0], SEQUENCE, -1, `${at}.signerInfo.sid.issuer`);
  integer(sid.subs[1], `${at}.signerInfo.sid.serialNumber`);
  node(signer.subs[2], SEQUENCE, -1, `${at}.signerInfo.digestAlgorithm`);
  context(signer.subs[3], 0, -1, `${at}.signerInfo.signedAttrs`);
  node(signer.subs[4], SEQUENCE, -1, `${at}.signerInfo.signatureAlgorithm`);
  if (!signer.subs[5]!.tag.isOctetString() || signer.subs[5]!.tag.constructed) fail(`${at}.signerInfo.signature`, 'a primitive OCTET STRING', 'another value');
  if (!encodeDer(digestAlgorithms.subs[0]!).equals(encodeDer(signer.subs[2]!))) {
    fail(`${at}.signedData.digestAlgorithms`, "exactly the signer's digest algorithm", 'another algorithm');
  }
  try {
    // Unknown algorithm identifiers map to undefined, which node:crypto would replace by a default.
    if (ts.signerDigestAlgorithm === undefined) fail(`${at}.signerInfo.digestAlgorithm`, 'SHA-256/384/512', 'another algorithm');
    if (ts.signatureAlgorithm === undefined) fail(`${at}.signerInfo.signatureAlgorithm`, 'ECDSA with SHA-2', 'another algorithm');
    if (ts.tstInfo.messageImprintHashAlgorithm === undefined) fail(`${at}.tstInfo.messageImprint`, 'a SHA-2 digest', 'another algorithm');
    void ts.signingTime.toISOString();
  } catch (e) {
    if (e instanceof Error && e.name === 'ProvenaError') throw e;
    fail(at, 'a readable RFC 3161 timestamp', (e as Error).message);
  }
}

/** After verification: embedded certificates are unsigned hints; accept only copies of the trusted authority's own. */
export function checkTimestampCertificates(ts: RFC3161Timestamp, material: TrustMaterial, at: string): void {
  const signedData = ts.root.subs[1]!.subs[1]!.subs[0]!;
  const embedded = signedData.subs.slice(3, -1)[0]?.subs ?? [];
  if (embedded.length === 0) return;
  const trusted = trustedTsaCertificates(material);
  embedded.forEach((cert, i) => {
    const der = encodeDer(cert);
    if (!trusted.some((t) => t.equals(der))) fail(`${at}.signedData.certificates[${i}]`, 'a certificate of a trusted timestamp authority', 'another certificate');
  });
}

const tsaCertificates = new WeakMap<TrustMaterial, Buffer[]>();

/** DER of every timestamp-authority certificate of a root, computed once per root. */
function trustedTsaCertificates(material: TrustMaterial): Buffer[] {
  let ders = tsaCertificates.get(material);
  if (ders === undefined) {
    ders = material.timestampAuthorities.flatMap((ca) => ca.certChain.map((c) => c.root.toDER()));
    tsaCertificates.set(material, ders);
  }
  return ders;
}

/** A universal node with `tag` and `count` children (-1: any number). */
function node(obj: ASN1Obj | undefined, tag: number, count: number, at: string): ASN1Obj {
  if (obj === undefined || !obj.tag.isUniversal() || !obj.tag.constructed || obj.tag.number !== tag) {
    fail(at, tag === SET ? 'a SET' : 'a SEQUENCE', obj === undefined ? 'nothing' : `tag ${obj.tag.number}`);
  }
  if (count >= 0 && obj.subs.length !== count) fail(at, `${count} field(s)`, `${obj.subs.length}`);
  return obj;
}

function context(obj: ASN1Obj | undefined, n: number, count: number, at: string): ASN1Obj {
  if (obj === undefined || !obj.tag.isContextSpecific(n) || !obj.tag.constructed) fail(at, `a [${n}] field`, obj === undefined ? 'nothing' : `tag ${obj.tag.number}`);
  if (count >= 0 && obj.subs.length !== count) fail(at, `${count} field(s)`, `${obj.subs.length}`);
  return obj;
}

// DER encodes these types primitive only; a constructed (BER) form would be read the same and so could be swapped in.
function integer(obj: ASN1Obj | undefined, at: string): bigint {
  if (obj === undefined || !obj.tag.isInteger() || obj.tag.constructed) fail(at, 'a primitive INTEGER', obj === undefined ? 'nothing' : `tag ${obj.tag.number}`);
  return obj.toInteger();
}

function oid(obj: ASN1Obj | undefined, expected: string, at: string): void {
  if (obj === undefined || !obj.tag.isOID() || obj.tag.constructed || obj.toOID() !== expected) fail(at, expected, obj?.tag.isOID() ? obj.toOID() : 'another value');
}

function fail(field: string, expected: string, actual: string): never {
  throw unprocessable('timestamp_invalid', `RFC 3161 ${field}: expected ${expected}, got ${actual}`, { field });
}
