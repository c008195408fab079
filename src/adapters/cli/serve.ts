import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../app.ts';
import { openBlobs, openStore } from './backends.ts';
import type { Settings } from '../config/settings.ts';
import { recoverOnStart } from './recover.ts';
import { trustRootsFromSettings } from './trust-roots.ts';
import { trustedIssuers } from '../../core/publish/oidc-issuers.ts';
import { loadLogIdentity } from './log-key.ts';
import { startLog } from './log-start.ts';

/** `provena serve`: the embedded default, SQLite + files under the data directory. */
export async function serve(settings: Settings): Promise<void> {
  const dataDir = path.resolve(settings.data);
  fs.mkdirSync(dataDir, { recursive: true });
  const spoolDir = path.join(dataDir, 'tmp');
  fs.rmSync(spoolDir, { recursive: true, force: true }); // uploads a crash interrupted
  fs.mkdirSync(spoolDir, { recursive: true });

  const adminToken = settings.admin_token ?? adminTokenFromDataDir(dataDir);
  const store = await openStore(settings, dataDir);
  const blobs = await openBlobs(settings, dataDir);
  const logIdentity = loadLogIdentity(dataDir, settings);

  const app = createApp({
    store,
    blobs,
    spoolDir,
    adminToken,
    publicUrl: settings.public_url,
    maxPackageBytes: settings.max_package_size,
    http: { logger: settings.log_level === 'silent' ? false : { level: settings.log_level } },
    log: { key: logIdentity.key, origin: logIdentity.origin, batchMs: settings.log_batch_ms },
    trustRoots: trustRootsFromSettings(settings.trusted_root),
    trustedPublishing: {
      issuers: trustedIssuers(settings.issuers, settings.oidc_default_issuers),
      audience: settings.oidc_audience,
      uploadTokenTtlSeconds: settings.upload_token_ttl_seconds,
    },
  });
  await recoverOnStart(app.services, blobs);
  await startLog(app.services.log, logIdentity);

  const address = await app.http.listen({ host: settings.host, port: settings.port });
  // with --port 0 the derived URL is only known now; a configured public URL always wins
  if (settings.port === 0 && !settings.public_url_given) {
    app.services.publicUrl = address.replace('0.0.0.0', '127.0.0.1');
  }
  process.stdout.write(`provena: listening on ${address} (data ${dataDir}, public URL ${app.services.publicUrl})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`provena: ${signal}, finishing in-flight requests\n`);
    await app.http.close(); // stops accepting, waits for requests in progress
    await app.services.log.stop();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * With no admin token configured, the first start makes one, prints it once and keeps it in
 * DATA/admin-token (0600) so restarts use the same.
 */
function adminTokenFromDataDir(dataDir: string): string {
  const file = path.join(dataDir, 'admin-token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const token = `pvn_admin_${randomBytes(32).toString('base64url')}`;
    fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    process.stdout.write(`provena: generated an admin token (shown once; also in ${file}):\n  ${token}\n`);
    return token;
  }
}
