import * as fs from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { issuersFromEnv, trustedPublishingSettings } from './trusted-publishing-settings.ts';

/**
 * Server settings: defaults, then the config file (`--config FILE` or PROVENA_CONFIG; TOML, or JSON),
 * then PROVENA_* environment variables, then command-line flags. Validated once at start-up.
 * docs/configuration.md lists every setting.
 */
const SettingsSchema = z
  .object({
    data: z.string().min(1).default('./provena-data'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8000),
    public_url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .optional(),
    admin_token: z.string().min(16, 'must be at least 16 characters').optional(),
    max_package_size: z.coerce.number().int().positive().default(4 * 1024 ** 3),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Sigstore trusted roots for attestations: `public-good`, `staging`, or a trusted_root.json path
    trusted_root: z.array(z.string().min(1)).min(1).default(['public-good']),
    // transparency log: origin (default: the public URL's host + path + /log), signer key text or file
    log_origin: z.string().regex(/^[^\s+]+$/, 'must be one word without spaces or "+", e.g. conda.example.org/log').optional(),
    log_key: z.string().min(1).optional(),
    log_batch_ms: z.coerce.number().int().min(1).max(60_000).default(100),
    // Trusted Publishing: issuers, audience, upload token lifetime
    ...trustedPublishingSettings,
  })
  .strict();

/** `public_url_given`: set by flag, file or env (otherwise derived from host and port) */
export type Settings = z.infer<typeof SettingsSchema> & { public_url: string; public_url_given: boolean };

/** Each setting's environment variable is PROVENA_ + its name in upper case. */
export const SETTING_NAMES = [
  'data',
  'host',
  'port',
  'public_url',
  'admin_token',
  'max_package_size',
  'log_level',
  'log_origin',
  'log_key',
  'log_batch_ms',
  'oidc_default_issuers',
  'oidc_audience',
  'upload_token_ttl_seconds',
] as const;

export class SettingsError extends Error {}

export function loadSettings(flags: Record<string, string | string[] | undefined>, env: NodeJS.ProcessEnv): Settings {
  const configPath = (typeof flags.config === 'string' ? flags.config : undefined) ?? env.PROVENA_CONFIG;
  const fromFile = configPath ? readConfigFile(configPath) : {};
  const fromEnv: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const v = env[`PROVENA_${name.toUpperCase()}`];
    if (v !== undefined && v !== '') fromEnv[name] = v;
  }
  const listFromEnv = env.PROVENA_TRUSTED_ROOT;
  const lists: Record<string, string[]> = {};
  if (listFromEnv) lists.trusted_root = listFromEnv.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(flags.trusted_root) && flags.trusted_root.length > 0) lists.trusted_root = flags.trusted_root;
  const fromFlags: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const v = flags[name];
    if (typeof v === 'string') fromFlags[name] = v;
  }
  const parsed = SettingsSchema.safeParse({ ...fromFile, ...issuersFromEnv(env), ...fromEnv, ...fromFlags, ...lists });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || '(config)';
    throw new SettingsError(`setting ${where}: ${issue.message} (flag --${where.replace(/_/g, '-')}, env PROVENA_${where.toUpperCase()})`);
  }
  const s = parsed.data;
  const hostForUrl = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
  const publicUrl = (s.public_url ?? `http://${hostForUrl.includes(':') ? `[${hostForUrl}]` : hostForUrl}:${s.port}`).replace(/\/+$/, '');
  return { ...s, public_url: publicUrl, public_url_given: s.public_url !== undefined };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SettingsError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    const data = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a table of settings');
    return data as Record<string, unknown>;
  } catch (e) {
    throw new SettingsError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'TOML'}: ${(e as Error).message}`);
  }
}
