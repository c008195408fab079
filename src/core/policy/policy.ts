import { parse as parseToml } from 'smol-toml';
import { normalizeChannelUrl } from '../attest/channel-url.ts';
import { invalid, isProvenaError, type ProvenaError } from '../errors.ts';
import { parseYaml } from '../lockfiles/yaml.ts';
import { exact, describeRule, glob, repositoryGlob, signerWorkflowGlob, workflowGlob, type IdentityRule } from './identity.ts';

/**
 * A verification policy (docs/policy.md): per channel — a URL prefix, the longest matching prefix
 * wins — which identities may have signed its packages, and what a package without an attestation,
 * a bundle of another predicate type, or a server without a transparency log means.
 *
 *     version = 1
 *     [[channels]]
 *     url = "https://conda.example.org/acme"
 *     missing = "error"
 *     [[channels.identities]]
 *     issuer = "https://token.actions.githubusercontent.com"
 *     repository = "acme/*"
 *     workflow = "release.yml"
 */
export type Severity = 'error' | 'warn' | 'ignore';
export type LogRequirement = 'check' | 'require' | 'ignore';

export interface ChannelPolicy {
  /** normalised URL prefix */
  url: string;
  /** true: the channel is not verified at all (reported as skipped) */
  skip: boolean;
  identities: IdentityRule[];
  /** a package without any attestation */
  missing: Severity;
  /** a bundle whose statement has another predicate type than CEP-27's publish attestation */
  unknownPredicate: Severity;
  /** check: verify the package's log entry when the server has a log; require: fail without one */
  transparencyLog: LogRequirement;
  /** where it was defined, for messages (`channels[2]`) */
  where: string;
}

export interface Policy {
  channels: ChannelPolicy[];
  /** a package from a channel no entry covers */
  unlistedChannels: Severity;
  /** a package with no channel URL (a path, a source build) */
  localPackages: Severity;
  source: string;
}

const SEVERITIES: readonly Severity[] = ['error', 'warn', 'ignore'];
const LOG_REQUIREMENTS: readonly LogRequirement[] = ['check', 'require', 'ignore'];

/** Parses TOML or YAML (by file name; otherwise by content) into a policy; throws `policy_invalid`. */
export function parsePolicyText(text: string, source: string): Policy {
  const format = /\.toml$/i.test(source) ? 'toml' : /\.ya?ml$/i.test(source) ? 'yaml' : /^\s*\[\[?channels/m.test(text) || /^\s*version\s*=/m.test(text) ? 'toml' : 'yaml';
  let doc: unknown;
  try {
    doc = format === 'toml' ? parseToml(text) : parseYaml(text, { schema: 'core', source });
  } catch (e) {
    const why = isProvenaError(e) ? e.detail : (e as Error).message;
    throw invalid('policy_invalid', `${source} is not valid ${format.toUpperCase()}: ${why}`);
  }
  return buildPolicy(doc, source);
}

export function buildPolicy(doc: unknown, source: string): Policy {
  const top = record(doc, source);
  allowKeys(top, ['version', 'channels', 'unlisted_channels', 'local_packages'], source);
  if (top.version !== undefined && top.version !== 1) throw bad(source, 'version', `1, got ${JSON.stringify(top.version)}`);
  if (!Array.isArray(top.channels) || top.channels.length === 0) throw bad(source, 'channels', 'a non-empty list of channels');
  const channels = top.channels.map((c, i) => channelPolicy(c, `${source}: channels[${i}]`));
  const seen = new Map<string, string>();
  for (const c of channels) {
    const other = seen.get(c.url);
    if (other !== undefined) throw invalid('policy_invalid', `${c.where}: url ${c.url} is already the url of ${other}`);
    seen.set(c.url, c.where);
  }
  return {
    channels,
    unlistedChannels: severity(top.unlisted_channels, source, 'unlisted_channels'),
    localPackages: severity(top.local_packages, source, 'local_packages'),
    source,
  };
}

function channelPolicy(v: unknown, where: string): ChannelPolicy {
  const c = record(v, where);
  allowKeys(c, ['url', 'skip', 'identities', 'missing', 'unknown_predicate', 'transparency_log'], where);
  if (typeof c.url !== 'string') throw bad(where, 'url', 'a channel URL (or URL prefix)');
  let url: string;
  try {
    url = normalizeChannelUrl(c.url);
  } catch {
    throw bad(where, 'url', `an http(s) URL, got ${JSON.stringify(c.url)}`);
  }
  if (c.skip !== undefined && typeof c.skip !== 'boolean') throw bad(where, 'skip', 'true or false');
  const skip = c.skip === true;
  const identitiesRaw = c.identities ?? [];
  if (!Array.isArray(identitiesRaw)) throw bad(where, 'identities', 'a list of identities');
  if (skip && identitiesRaw.length > 0) throw bad(where, 'identities', 'none when skip = true (a skipped channel is not verified)');
  if (!skip && identitiesRaw.length === 0) {
    throw bad(where, 'identities', 'at least one identity (or skip = true to leave the channel unverified, reported as skipped)');
  }
  const transparencyLog = c.transparency_log ?? 'check';
  if (!LOG_REQUIREMENTS.includes(transparencyLog as LogRequirement)) throw bad(where, 'transparency_log', `one of ${LOG_REQUIREMENTS.join(', ')}`);
  return {
    url,
    skip,
    identities: identitiesRaw.map((id, i) => identityRule(id, `${where}.identities[${i}]`)),
    missing: severity(c.missing, where, 'missing'),
    unknownPredicate: severity(c.unknown_predicate, where, 'unknown_predicate'),
    transparencyLog: transparencyLog as LogRequirement,
    where,
  };
}

function identityRule(v: unknown, where: string): IdentityRule {
  const id = record(v, where);
  allowKeys(id, ['issuer', 'subject', 'repository', 'workflow', 'signer_workflow', 'ref'], where);
  for (const [k, value] of Object.entries(id)) if (typeof value !== 'string') throw bad(where, k, 'a string');
  const s = id as Record<string, string | undefined>;
  if (s.issuer === undefined) throw bad(where, 'issuer', 'the OIDC issuer URL (e.g. https://token.actions.githubusercontent.com)');
  if (s.repository === undefined && s.subject === undefined && s.signer_workflow === undefined) {
    throw invalid('policy_invalid', `${where}: name who signed with repository, signer_workflow or subject; an issuer alone would trust everyone it serves`);
  }
  const rule: IdentityRule = { issuer: exact(s.issuer) };
  try {
    if (s.subject !== undefined) rule.subject = glob(s.subject, `${where}.subject`);
    if (s.repository !== undefined) rule.repository = repositoryGlob(s.repository, `${where}.repository`);
    if (s.signer_workflow !== undefined) rule.signerWorkflow = signerWorkflowGlob(s.signer_workflow, `${where}.signer_workflow`);
    if (s.workflow !== undefined) rule.workflow = workflowGlob(s.workflow, `${where}.workflow`);
    if (s.ref !== undefined) rule.ref = glob(s.ref, `${where}.ref`);
  } catch (e) {
    if (isProvenaError(e)) throw invalid('policy_invalid', e.detail);
    throw e;
  }
  return rule;
}

function severity(v: unknown, where: string, key: string): Severity {
  if (v === undefined) return 'error';
  if (!SEVERITIES.includes(v as Severity)) throw bad(where, key, `one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as Severity;
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('policy_invalid', `${where}: expected a table/mapping`);
  return v as Record<string, unknown>;
}

function allowKeys(r: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const k of Object.keys(r)) {
    // an unknown key is most likely a typo of a check the author meant to have: never ignore it
    if (!keys.includes(k)) throw invalid('policy_invalid', `${where}: unknown key ${JSON.stringify(k)} (known: ${keys.join(', ')})`);
  }
}

function bad(where: string, key: string, expected: string): ProvenaError {
  return invalid('policy_invalid', `${where}.${key}: expected ${expected}`);
}

/**
 * The channel's policy: the entry whose URL is the longest prefix of the channel URL, on a path
 * segment boundary (`https://h/acme` covers `https://h/acme` and `https://h/acme/label/dev`, never
 * `https://h/acme-evil`). null when no entry covers it.
 */
export function channelPolicyFor(policy: Policy, channelUrl: string): ChannelPolicy | null {
  const channel = normalizeChannelUrl(channelUrl);
  let best: ChannelPolicy | null = null;
  for (const c of policy.channels) {
    if (channel === c.url || channel.startsWith(`${c.url}/`)) {
      if (best === null || c.url.length > best.url.length) best = c;
    }
  }
  return best;
}

/** A policy of one channel entry made from `provena verify` flags. */
export function flagsPolicy(url: string, rules: IdentityRule[], opts: { missing?: Severity; unknownPredicate?: Severity; transparencyLog?: LogRequirement } = {}): ChannelPolicy {
  return {
    url: normalizeChannelUrl(url),
    skip: false,
    identities: rules,
    missing: opts.missing ?? 'error',
    unknownPredicate: opts.unknownPredicate ?? 'error',
    transparencyLog: opts.transparencyLog ?? 'check',
    where: 'flags',
  };
}

export function describeChannelPolicy(c: ChannelPolicy): string {
  if (c.skip) return `${c.url}: skipped`;
  return `${c.url}: ${c.identities.map((r) => `(${describeRule(r)})`).join(' or ')}`;
}
