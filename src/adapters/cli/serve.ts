import * as fs from 'node:fs';
import * as path from 'node:path';
import { createApp } from '../../app.ts';
import { openBlobs, openStore } from './backends.ts';
import { SettingsError, type Settings } from '../config/settings.ts';
import { recoverOnStart } from './recover.ts';
import { trustRootsFromSettings } from './trust-roots.ts';
import { trustedIssuers } from '../../core/publish/oidc-issuers.ts';
import { loadLogIdentity } from './log-key.ts';
import { startLog } from './log-start.ts';
import { drainHttp } from './shutdown.ts';
import { KeyDirKeyring } from '../tuf/key-dir.ts';
import { scheduleTimestampRefresh } from '../tuf/timestamp-schedule.ts';
import { ADMIN_TOKEN_FILE, followAdminTokenFile, newAdminToken, readAdminToken } from './admin-token.ts';
import { writeFileDurably } from '../files/durable-file.ts';
import { writeServerPid } from './server-pid.ts';
import { readKeyHistory } from '../../core/tlog/key-rotation.ts';
import { ProcessFullFiles } from '../repodata/builder-process.ts';

/** `provena serve`: on the configured database and storage (the embedded default: SQLite + files under the data directory). */
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
  const trust = trustRootsFromSettings(settings.trusted_root, dataDir);
  // large subdirs' full files off the event loop that acknowledges uploads (docs/architecture.md, "Repodata")
  const builder = settings.repodata_builder === 'process' ? new ProcessFullFiles({ settings, dataDir, spoolDir }) : undefined;

  const app = createApp({
    store,
    blobs,
    spoolDir,
    adminToken,
    publicUrl: settings.public_url,
    maxPackageBytes: settings.max_package_size,
    http: {
      logger: settings.log_level === 'silent' ? false : { level: settings.log_level },
      metricsToken: settings.metrics_token,
      trustProxy: settings.trust_proxy,
      rateLimits: { uploadPerMinute: settings.rate_limit_upload_per_minute, authPerMinute: settings.rate_limit_auth_per_minute },
      timeouts: {
        headerSeconds: settings.header_timeout_seconds,
        requestSeconds: settings.request_timeout_seconds,
        uploadIdleSeconds: settings.upload_idle_timeout_seconds,
      },
    },
    log: { key: logIdentity.key, origin: logIdentity.origin, batchMs: settings.log_batch_ms },
    repodata: { syncRecords: settings.repodata_sync_records, debounceMs: settings.repodata_debounce_ms, fullFiles: builder },
    tuf: {
      keys: new KeyDirKeyring(path.resolve(settings.tuf_key_dir ?? path.join(dataDir, 'tuf-keys'))),
      expiry: { timestamp: settings.tuf_timestamp_seconds, root: settings.tuf_root_seconds },
    },
    trustRoots: trust.roots,
    trustedPublishing: {
      issuers: trustedIssuers(settings.issuers, settings.oidc_default_issuers),
      audience: settings.oidc_audience,
      uploadTokenTtlSeconds: settings.upload_token_ttl_seconds,
    },
  });
  await recoverOnStart(app.services, blobs);
  await startLog(app.services.log, logIdentity, await readKeyHistory(blobs));
  if (app.services.tuf) {
    scheduleTimestampRefresh(app.services.tuf, settings.tuf_timestamp_seconds, (err) => app.http.log.error({ err }, 'signed repodata: timestamp refresh failed'));
  }

  const address = await app.http.listen({ host: settings.host, port: settings.port });
  // with --port 0 the derived URL is only known now; a configured public URL always wins
  if (settings.port === 0 && !settings.public_url_given) {
    app.services.publicUrl = address.replace('0.0.0.0', '127.0.0.1');
  }
  process.stdout.write(`provena: Sigstore trusted roots: ${trust.description}\n`);
  process.stdout.write(`provena: listening on ${address} (data ${dataDir}, public URL ${app.services.publicUrl})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`provena: ${signal}, finishing in-flight requests\n`);
    // stops accepting, lets requests in progress finish (bounded by shutdown_timeout_seconds)
    await drainHttp(app.http, settings.shutdown_timeout_seconds, (line) => process.stdout.write(`${line}\n`));
    // no new debounced rebuilds; one under way in the builder is dropped with it (done again on start)
    app.services.repodata.close();
    await builder?.close();
    try {
      await app.services.log.flush(); // sign what the last requests committed, so restart has nothing pending
    } catch (err) {
      app.http.log.error({ err }, 'transparency log: final checkpoint failed; it is signed on the next start');
    }
    await app.services.log.stop();
    await store.close();
    process.stdout.write('provena: stopped\n');
    process.exit(0);
  };
  const removePid = writeServerPid(dataDir);
  process.on('exit', removePid);
  // a token from the data directory follows `provena admin-token rotate` (SIGHUP or the file changing)
  if (settings.admin_token === undefined) {
    followAdminTokenFile(dataDir, (token) => app.services.access.setAdminToken(token), (line) => process.stdout.write(`${line}\n`));
  }
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * With no admin token configured, the first start makes one, prints it once and keeps it in
 * DATA/admin-token (0600) so restarts use the same.
 */
function adminTokenFromDataDir(dataDir: string): string {
  const existing = readAdminToken(dataDir);
  if (existing !== null) return existing;
  const token = newAdminToken();
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  // create-exclusive: a replica sharing the directory that started first keeps its token for everyone
  if (!writeFileDurably(file, `${token}\n`, { how: 'create', mode: 0o600 })) {
    const theirs = readAdminToken(dataDir);
    if (theirs === null) throw new SettingsError(`${file} holds no usable admin token; remove it to have one generated, or run provena admin-token rotate`);
    return theirs;
  }
  process.stdout.write(`provena: generated an admin token (shown once; also in ${file}):\n  ${token}\n`);
  return token;
}
