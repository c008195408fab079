import * as path from 'node:path';
import { parseAttestation } from '../../core/attest/bundle.ts';
import { normalizeChannelUrl, targetChannelProblem } from '../../core/attest/channel-url.ts';
import { extractSignerIdentity } from '../../core/attest/signer-identity.ts';
import { CONDA_PUBLISH_PREDICATE_TYPE, IN_TOTO_STATEMENT_V1 } from '../../core/attest/statement.ts';
import { parsePackageFilename } from '../../core/conda/filename.ts';
import { isProvenaError, type ProvenaError } from '../../core/errors.ts';
import { PUBLIC_GOOD, signStatement } from '../sigstore/signer.ts';
import { CliError, usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';
import { processIo, type Io } from './cli-io.ts';
import { hashFile } from './file-digest.ts';
import { writeFileDurably } from '../files/durable-file.ts';

export const SIGNING_OPTIONS = {
  'identity-token': { type: 'string' },
  'fulcio-url': { type: 'string' },
  'rekor-url': { type: 'string' },
  'tsa-url': { type: 'string' },
  'no-tsa': { type: 'boolean' },
} as const;

const OPTIONS = {
  ...SIGNING_OPTIONS,
  channel: { type: 'string' },
  output: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const ATTEST_USAGE = `usage: provena attest FILE... --channel URL [--output BUNDLE] [--identity-token TOKEN]
       [--fulcio-url URL] [--rekor-url URL] [--tsa-url URL | --no-tsa] [--json]
In CI the identity is ambient: GitHub Actions (permissions: id-token: write), or SIGSTORE_ID_TOKEN
(e.g. GitLab id_tokens with aud: sigstore), or PROVENA_ID_TOKEN. Writes FILE.sigstore.json.`;

export interface SigningConfig {
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string | null;
}

/** Flags, then PROVENA_FULCIO_URL / PROVENA_REKOR_URL / PROVENA_TSA_URL, then Sigstore's public good instance. */
export function signingConfig(values: { [K in keyof typeof SIGNING_OPTIONS]?: string | boolean }, env: NodeJS.ProcessEnv): SigningConfig {
  if (values['no-tsa'] && values['tsa-url'] !== undefined) throw usageError('give --tsa-url or --no-tsa, not both');
  const url = (flag: string | boolean | undefined, envName: string, fallback: string) => {
    const v = (typeof flag === 'string' ? flag : undefined) ?? (env[envName] || undefined) ?? fallback;
    if (!/^https?:\/\//.test(v)) throw usageError(`${envName.toLowerCase()}: expected an http(s) URL, got ${JSON.stringify(v)}`);
    return v.replace(/\/+$/, '');
  };
  return {
    identityToken: typeof values['identity-token'] === 'string' ? values['identity-token'] : undefined,
    fulcioUrl: url(values['fulcio-url'], 'PROVENA_FULCIO_URL', PUBLIC_GOOD.fulcioUrl),
    rekorUrl: url(values['rekor-url'], 'PROVENA_REKOR_URL', PUBLIC_GOOD.rekorUrl),
    tsaUrl: values['no-tsa'] ? null : url(values['tsa-url'], 'PROVENA_TSA_URL', PUBLIC_GOOD.tsaUrl),
  };
}

/** `provena attest FILE... --channel URL`: a CEP-27 attestation per file, signed with the CI's identity. */
export async function attestCommand(args: string[], env: NodeJS.ProcessEnv, io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, true);
  if (positionals.length === 0 || values.channel === undefined) throw usageError(ATTEST_USAGE);
  if (values.output !== undefined && positionals.length > 1) throw usageError('--output names one bundle; give one FILE with it');
  const config = signingConfig(values, env);
  const token = await sigstoreIdToken(config, env);
  for (const file of positionals) {
    const out = values.output ?? `${file}.sigstore.json`;
    const made = await attestFile(file, values.channel, config, token, out);
    if (values.json) {
      const { bundle: _bundle, ...facts } = made;
      io.out(JSON.stringify(facts));
    }
    else io.out(`wrote ${out}: CEP-27 attestation of ${made.filename} (sha256 ${made.sha256}) for ${made.target_channel}, signed by ${made.signer}${made.rekor_log_index ? `, Rekor log index ${made.rekor_log_index}` : ''}`);
  }
  return 0;
}

export interface MadeAttestation {
  bundle: string;
  path: string;
  filename: string;
  sha256: string;
  target_channel: string;
  signer: string;
  issuer: string | null;
  rekor_log_index: string | null;
}

/** The statement CEP-27 asks for: the file's name and sha256, the channel it is meant for. */
export function publishStatement(filename: string, sha256: string, targetChannel: string): object {
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: filename, digest: { sha256 } }],
    predicateType: CONDA_PUBLISH_PREDICATE_TYPE,
    predicate: { targetChannel },
  };
}

/** Signs one file's statement and writes the bundle to `out` (used by `attest` and `upload --generate-attestation`). */
export async function attestFile(file: string, channel: string, config: SigningConfig, identityToken: string, out: string): Promise<MadeAttestation> {
  const filename = path.basename(file);
  try {
    parsePackageFilename(filename);
  } catch (e) {
    throw usageError(`${file}: ${isProvenaError(e) ? e.detail : String(e)}`);
  }
  const problem = targetChannelProblem(channel);
  if (problem !== null) throw usageError(`--channel ${JSON.stringify(channel)}: ${problem}`);
  const targetChannel = normalizeChannelUrl(channel);
  const sha256 = await hashFile(file);
  let bundle: string;
  try {
    bundle = await signStatement({
      statement: publishStatement(filename, sha256, targetChannel),
      identityToken,
      fulcioUrl: config.fulcioUrl,
      rekorUrl: config.rekorUrl,
      tsaUrl: config.tsaUrl,
    });
  } catch (e) {
    if (isProvenaError(e)) throw signingFailure(e);
    throw e;
  }
  writeAtomically(out, bundle);
  // what was made, read back from the bundle itself
  const parsed = parseAttestation(Buffer.from(bundle));
  const signer = extractSignerIdentity(parsed.certificate);
  return {
    bundle,
    path: out,
    filename,
    sha256,
    target_channel: targetChannel,
    signer: signer.buildSignerUri ?? signer.subjectAlternativeName?.value ?? 'unknown',
    issuer: signer.issuer,
    rekor_log_index: parsed.bundle.verificationMaterial.tlogEntries[0]?.logIndex ?? null,
  };
}

function signingFailure(e: ProvenaError): CliError {
  const code = e.kind === 'unavailable' ? 3 : e.kind === 'invalid' ? 2 : 1;
  return new CliError(`signing failed (${e.code}): ${e.detail}`, code);
}

/**
 * The OIDC token Fulcio certifies (audience `sigstore`): `--identity-token`, else SIGSTORE_ID_TOKEN
 * (GitLab `id_tokens:` with `aud: sigstore`, any CI), else GitHub Actions' token service
 * (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, audience sigstore), else PROVENA_ID_TOKEN.
 */
export async function sigstoreIdToken(config: SigningConfig, env: NodeJS.ProcessEnv): Promise<string> {
  if (config.identityToken) return config.identityToken;
  if (env.SIGSTORE_ID_TOKEN) return env.SIGSTORE_ID_TOKEN;
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl || requestToken) {
    if (!requestUrl || !requestToken) {
      throw usageError('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must both be set; give the job "permissions: id-token: write"');
    }
    const url = new URL(requestUrl);
    url.searchParams.set('audience', 'sigstore');
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new CliError(`cannot reach the GitHub Actions token service: ${String((e as Error).cause ?? (e as Error).message)}`, 3);
    }
    const text = await res.text();
    if (!res.ok) throw new CliError(`GitHub Actions refused the id token request (${res.status}): ${text.slice(0, 200)}`, 1);
    let value: unknown;
    try {
      value = (JSON.parse(text) as { value?: unknown }).value;
    } catch {
      value = undefined;
    }
    if (typeof value !== 'string' || value === '') throw new CliError('GitHub Actions answered the id token request without a token', 1);
    return value;
  }
  if (env.PROVENA_ID_TOKEN) return env.PROVENA_ID_TOKEN;
  throw usageError(
    'no identity token for Sigstore: in GitHub Actions give the job "permissions: id-token: write"; in GitLab CI declare ' +
      '"id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore"; elsewhere pass --identity-token or set SIGSTORE_ID_TOKEN',
  );
}


function writeAtomically(file: string, text: string): void {
  try {
    writeFileDurably(file, text, { how: 'replace' });
  } catch (e) {
    throw usageError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
