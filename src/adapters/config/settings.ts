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
    // full repodata files: rebuilt before the upload's acknowledgement below this many records, else debounced
    repodata_sync_records: z.coerce.number().int().min(0).default(20_000),
    repodata_debounce_ms: z.coerce.number().int().min(0).max(600_000).default(2_000),
    // where large subdirs' full files are written: a builder process of its own (at nice 10), or the server's event loop
    repodata_builder: z.enum(['process', 'in-process']).default('process'),
    // operations (docs/configuration.md, "Health, metrics and limits")
    metrics_token: z.string().min(16, 'must be at least 16 characters').optional(),
    // whose X-Forwarded-For to believe for the client address: false, true (every hop), or proxy addresses/CIDRs
    trust_proxy: z
      .union([z.boolean(), z.string().min(1)])
      .default(false)
      .transform((v) => (v === 'true' ? true : v === 'false' ? false : v)),
    rate_limit_upload_per_minute: z.coerce.number().int().min(0).default(120),
    rate_limit_auth_per_minute: z.coerce.number().int().min(0).default(30),
    header_timeout_seconds: z.coerce.number().positive().max(3600).default(30),
    request_timeout_seconds: z.coerce.number().min(0).max(86_400).default(60),
    upload_idle_timeout_seconds: z.coerce.number().min(0).max(86_400).default(60),
    shutdown_timeout_seconds: z.coerce.number().min(0).max(86_400).default(30),
    // signed repodata (TUF): the server's private keys, and how long a timestamp signature lasts
    tuf_key_dir: z.string().min(1).optional(),
    tuf_timestamp_seconds: z.coerce.number().int().min(2).max(30 * 86400).default(6 * 3600),
    // how long a server-held root lasts; the server renews it at half (short values are for tests)
    tuf_root_seconds: z.coerce.number().int().min(10).max(10 * 365 * 86400).default(365 * 86400),
    // Trusted Publishing: issuers, audience, upload token lifetime
    ...trustedPublishingSettings,
    // metadata in PostgreSQL instead of DATA/provena.sqlite: docs/configuration.md, "PostgreSQL"
    database: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres://USER:PASSWORD@HOST:PORT/DB URL (unset: SQLite in the data directory)')
      .optional(),
    database_pool_size: z.coerce.number().int().min(2, 'must be at least 2 (the log signer holds one connection while it works)').max(1000).default(10),
    database_schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier (letters, digits, _)')
      .optional(),
    // package files, repodata and log tiles on a file system other than DATA/blobs (e.g. one replicas share)
    blobs_dir: z.string().min(1).optional(),
    // blobs, repodata and log tiles in an S3-compatible bucket instead of DATA/blobs
    storage: z
      .string()
      .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be s3://BUCKET or s3://BUCKET/PREFIX')
      .optional(),
    s3_endpoint: z.string().url().optional(),
    s3_region: z.string().min(1).optional(),
    s3_access_key_id: z.string().min(1).optional(),
    s3_secret_access_key: z.string().min(1).optional(),
    s3_force_path_style: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
      .transform((v) => v === true || v === 'true' || v === '1')
      .optional(),
  })
  .strict();

/** `public_url_given`: set by flag, file or env (otherwise derived from host and port) */
export type Settings = z.infer<typeof SettingsSchema> & { public_url: string; public_url_given: boolean };

/** Every setting the schema knows; docs/configuration.md lists each (test/docs/configuration.test.ts). */
export const SETTING_KEYS: readonly string[] = Object.keys(SettingsSchema.shape);

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
  'repodata_sync_records',
  'repodata_debounce_ms',
  'repodata_builder',
  'metrics_token',
  'trust_proxy',
  'rate_limit_upload_per_minute',
  'rate_limit_auth_per_minute',
  'header_timeout_seconds',
  'request_timeout_seconds',
  'upload_idle_timeout_seconds',
  'shutdown_timeout_seconds',
  'tuf_key_dir',
  'tuf_timestamp_seconds',
  'tuf_root_seconds',
  'oidc_default_issuers',
  'oidc_audience',
  'upload_token_ttl_seconds',
  'database',
  'database_pool_size',
  'database_schema',
  'blobs_dir',
  'storage',
  's3_endpoint',
  's3_region',
  's3_access_key_id',
  's3_secret_access_key',
  's3_force_path_style',
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
