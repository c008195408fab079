import { readFileSync } from 'node:fs';
import { apiRequest, type ServerTarget } from './api-client.ts';
import { usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';
import { uploadPackage } from './upload-client.ts';
import { channelFor, mintUploadToken } from './trusted-publishing-client.ts';
import { attestFile, SIGNING_OPTIONS, signingConfig, sigstoreIdToken } from './attest-command.ts';

export const CLIENT_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export function target(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv): ServerTarget {
  return {
    server: values.server ?? env.PROVENA_SERVER ?? 'http://127.0.0.1:8000',
    token: values.token ?? env.PROVENA_TOKEN,
  };
}

export const out = (line: string) => process.stdout.write(`${line}\n`);

interface ChannelJson {
  name: string;
  private: boolean;
  require_attestations: boolean;
  max_package_size?: number | null;
  url: string;
}

export async function channelCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(
    rest,
    {
      ...CLIENT_OPTIONS,
      private: { type: 'boolean' },
      public: { type: 'boolean' },
      'require-attestations': { type: 'boolean' },
      'no-require-attestations': { type: 'boolean' },
      'max-package-size': { type: 'string' },
    },
    true,
  );
  const t = target(values, env);
  const name = positionals[0];
  switch (sub) {
    case 'create': {
      if (!name) throw usageError('name the channel: provena channel create NAME [--private]');
      const c = await apiRequest<ChannelJson>(t, 'POST', '/api/v1/channels', { name, private: values.private === true });
      out(values.json ? JSON.stringify(c) : `created channel ${c.name} (${c.private ? 'private' : 'public'}) at ${c.url}`);
      return 0;
    }
    case 'list': {
      const { channels } = await apiRequest<{ channels: ChannelJson[] }>(t, 'GET', '/api/v1/channels');
      if (values.json) out(JSON.stringify(channels));
      else for (const c of channels) out(`${c.name}\t${c.private ? 'private' : 'public'}\t${c.url}`);
      return 0;
    }
    case 'delete': {
      if (!name) throw usageError('name the channel: provena channel delete NAME');
      await apiRequest(t, 'DELETE', `/api/v1/channels/${encodeURIComponent(name)}`);
      out(`deleted channel ${name}`);
      return 0;
    }
    case 'update': {
      if (!name) throw usageError('provena channel update NAME [--private|--public] [--require-attestations|--no-require-attestations] [--max-package-size SIZE|none]');
      if (values.private && values.public) throw usageError('give --private or --public, not both');
      if (values['require-attestations'] && values['no-require-attestations']) {
        throw usageError('give --require-attestations or --no-require-attestations, not both');
      }
      const body: Record<string, boolean | number | null> = {};
      if (values['max-package-size'] !== undefined) body.max_package_size = parseSize(values['max-package-size']);
      if (values.private) body.private = true;
      if (values.public) body.private = false;
      if (values['require-attestations']) body.require_attestations = true;
      if (values['no-require-attestations']) body.require_attestations = false;
      if (Object.keys(body).length === 0) {
        throw usageError('nothing to change: give --private, --public, --require-attestations, --no-require-attestations or --max-package-size');
      }
      const c = await apiRequest<ChannelJson>(t, 'PATCH', `/api/v1/channels/${encodeURIComponent(name)}`, body);
      out(
        values.json
          ? JSON.stringify(c)
          : `channel ${c.name}: ${c.private ? 'private' : 'public'}, attestations ${c.require_attestations ? 'required' : 'optional'}` +
              `, packages up to ${c.max_package_size ? `${c.max_package_size} bytes` : "the server's limit"}`,
      );
      return 0;
    }
    default:
      throw usageError('channel needs one of: create, list, delete, update');
  }
}

/** `100M`, `2G`, `512K` (powers of 1024) or plain bytes; `none` clears the channel's limit. */
export function parseSize(text: string): number | null {
  if (/^(none|default)$/i.test(text)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase())) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw usageError(`--max-package-size ${JSON.stringify(text)}: give a size such as 100M, 2G, 512K or a number of bytes (or none)`);
  }
  return bytes;
}

interface KeyJson {
  id: string;
  channel: string;
  scope: string;
  expires_at: string | null;
  revoked_at: string | null;
  secret?: string;
}

export async function keyCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(
    rest,
    { ...CLIENT_OPTIONS, channel: { type: 'string' }, scope: { type: 'string' }, expires: { type: 'string' }, description: { type: 'string' } },
    true,
  );
  const t = target(values, env);
  switch (sub) {
    case 'create': {
      if (!values.channel || !values.scope) throw usageError('provena key create --channel NAME --scope read|upload|admin [--expires DAYS]');
      let expires_days: number | undefined;
      if (values.expires !== undefined) {
        expires_days = Number(values.expires);
        if (!Number.isInteger(expires_days) || expires_days < 1) throw usageError('--expires takes a whole number of days, e.g. --expires 90');
      }
      const k = await apiRequest<KeyJson>(t, 'POST', '/api/v1/keys', {
        channel: values.channel,
        scope: values.scope,
        expires_days,
        description: values.description,
      });
      if (values.json) {
        out(JSON.stringify({ id: k.id, secret: k.secret, channel: k.channel, scope: k.scope, expires_at: k.expires_at }));
      } else {
        out(`created key ${k.id} (${k.scope} on ${k.channel}${k.expires_at ? `, expires ${k.expires_at}` : ''})`);
        out(`secret (shown once): ${k.secret}`);
      }
      return 0;
    }
    case 'list': {
      const q = values.channel ? `?channel=${encodeURIComponent(values.channel)}` : '';
      const { keys } = await apiRequest<{ keys: KeyJson[] }>(t, 'GET', `/api/v1/keys${q}`);
      if (values.json) out(JSON.stringify(keys));
      else for (const k of keys) out(`${k.id}\t${k.channel}\t${k.scope}\t${k.revoked_at ? 'revoked' : k.expires_at ? `expires ${k.expires_at}` : 'active'}`);
      return 0;
    }
    case 'revoke': {
      const id = positionals[0];
      if (!id) throw usageError('provena key revoke ID');
      await apiRequest(t, 'DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
      out(`revoked key ${id}`);
      return 0;
    }
    default:
      throw usageError('key needs one of: create, list, revoke');
  }
}

export async function uploadCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...CLIENT_OPTIONS,
      channel: { type: 'string' },
      'skip-existing': { type: 'boolean' },
      force: { type: 'boolean' },
      attestation: { type: 'string', multiple: true },
      'trusted-publishing': { type: 'boolean' },
      'generate-attestation': { type: 'boolean' },
      ...SIGNING_OPTIONS,
    },
    true,
  );
  const trusted = values['trusted-publishing'] === true;
  if (positionals.length === 0 || (!values.channel && !trusted)) {
    throw usageError('provena upload FILE... --channel NAME [--attestation BUNDLE]... (or --trusted-publishing in CI)');
  }
  const generate = values['generate-attestation'] === true;
  if (generate && values.attestation !== undefined) throw usageError('give --attestation BUNDLE or --generate-attestation, not both');
  const signing = generate ? signingConfig(values, env) : null;
  const attestations = values.attestation ?? [];
  if (attestations.length > 0 && attestations.length !== positionals.length) {
    throw usageError(`give one --attestation per file, in the same order (${positionals.length} files, ${attestations.length} attestations)`);
  }
  if (values.force && values['skip-existing']) throw usageError('give --force or --skip-existing, not both');
  // read before a Trusted Publishing exchange, which uses up the CI's id token
  const bundles = attestations.map((bundlePath) => {
    try {
      return readFileSync(bundlePath);
    } catch (e) {
      throw usageError(`cannot read attestation ${bundlePath}: ${(e as Error).message}`);
    }
  });
  const t = target(values, env);
  let channel = values.channel;
  if (trusted) {
    const minted = await mintUploadToken(t.server, env);
    t.token = minted.token;
    channel = channelFor(values.channel, minted);
  }
  if (signing !== null) {
    // `provena attest` on the way: a CEP-27 attestation for this channel, signed with the CI's identity
    const idToken = await sigstoreIdToken(signing, env);
    const channelUrl = `${t.server.replace(/\/+$/, '')}/${channel}`;
    for (const file of positionals) {
      const made = await attestFile(file, channelUrl, signing, idToken, `${file}.sigstore.json`);
      bundles.push(Buffer.from(made.bundle));
      if (!values.json) out(`attested ${made.filename} for ${made.target_channel}, signed by ${made.signer} (${made.path})`);
    }
  }
  for (const [i, file] of positionals.entries()) {
    const result = await uploadPackage(t, file, { channel: channel!, force: values.force === true, attestation: bundles[i] });
    if (result.status === 'exists') {
      if (!values['skip-existing']) throw usageError(`${file}: ${result.detail}; use --skip-existing or --force`);
      out(`skipped ${file} (exists already)`);
    } else {
      const body = result.body as { subdir: string; filename: string; sha256: string };
      out(values.json ? JSON.stringify(result.body) : `uploaded ${channel}/${body.subdir}/${body.filename} sha256:${body.sha256}`);
    }
  }
  return 0;
}

export async function removeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
  const [channel, file] = positionals;
  if (!channel || !file) throw usageError('provena remove CHANNEL [SUBDIR/]FILE');
  const t = target(values, env);
  let subdir: string;
  let filename: string;
  if (file.includes('/')) {
    [subdir, filename] = file.split('/', 2) as [string, string];
  } else {
    const { packages } = await apiRequest<{ packages: { subdir: string }[] }>(
      t,
      'GET',
      `/api/v1/channels/${encodeURIComponent(channel)}/packages?filename=${encodeURIComponent(file)}`,
    );
    if (packages.length === 0) throw usageError(`${file} is not in channel ${channel}`);
    if (packages.length > 1) throw usageError(`${file} is in several subdirs (${packages.map((p) => p.subdir).join(', ')}); give SUBDIR/${file}`);
    subdir = packages[0]!.subdir;
    filename = file;
  }
  await apiRequest(t, 'DELETE', `/api/v1/channels/${encodeURIComponent(channel)}/packages/${encodeURIComponent(subdir)}/${encodeURIComponent(filename)}`);
  out(`removed ${channel}/${subdir}/${filename}`);
  return 0;
}
