/**
 * `provena log rotate-key [--data DIR]`: replaces the log's signing key, with the server stopped
 * (core/tlog/key-rotation.ts says how trust carries over). Steps, each durable before the next, so an
 * interrupted rotation is finished by running the command again:
 * 1. the next key is made and kept in DATA/log-key.next (reused if a previous run left one);
 * 2. with the current key, and the next one as cosigner, the log signs what was committed, appends a
 *    `key_rotation` entry naming the next key and signs the checkpoint covering it with both keys;
 * 3. the rotation (entry index, both keys, that checkpoint) is added to the key history `log/keys.json`;
 * 4. DATA/log-key.next replaces DATA/log-key. The old private key is gone; its verifier key stays in
 *    the history, so checkpoints it signed stay verifiable.
 * The server must be stopped: a running one would go on signing with the old key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../config/settings.ts';
import { formatSignerKey, formatVerifierKey, generateSignerKey, parseSignerKey, verifierKeyOf } from '../../core/tlog/note-keys.ts';
import { TransparencyLog } from '../../core/tlog/transparency-log.ts';
import { announcedKey, parseEntry } from '../../core/tlog/entry.ts';
import { KEY_HISTORY_KEY, type KeyHistory, keyRotationEntry, readKeyHistory } from '../../core/tlog/key-rotation.ts';
import { isProvenaError } from '../../core/errors.ts';
import { openBlobs, openStore } from './backends.ts';
import { loadLogIdentity } from './log-key.ts';
import { CliError, usageError } from './cli-error.ts';
import { fsyncDir, writeFileDurably } from '../files/durable-file.ts';
import { runningServer } from './server-pid.ts';

export async function rotateLogKey(settings: Settings, out: (line: string) => void): Promise<void> {
  if (settings.log_key !== undefined) {
    throw usageError('the log key is set by configuration (log_key / PROVENA_LOG_KEY); rotation replaces DATA/log-key, so remove the setting and put the key there first');
  }
  const dataDir = path.resolve(settings.data);
  const keyFile = path.join(dataDir, 'log-key');
  if (!fs.existsSync(keyFile)) throw usageError(`${dataDir} has no log-key; give the server's data directory with --data DIR`);
  const pid = runningServer(dataDir);
  if (pid !== null) throw usageError(`a server (pid ${pid}) is running on ${dataDir}; stop it, rotate, then start it again`);

  const identity = loadLogIdentity(dataDir, settings);
  const current = formatVerifierKey(verifierKeyOf(identity.key));
  const nextFile = path.join(dataDir, 'log-key.next');
  const next = fs.existsSync(nextFile) ? parseSignerKey(fs.readFileSync(nextFile, 'utf8').trim()) : generateSignerKey(identity.key.name);
  if (!fs.existsSync(nextFile)) writeFileDurably(nextFile, `${formatSignerKey(next)}\n`, { how: 'create', mode: 0o600 });
  const announced = formatVerifierKey(verifierKeyOf(next));

  const store = await openStore(settings, dataDir);
  const blobs = await openBlobs(settings, dataDir);
  const log = new TransparencyLog({ store, blobs, key: identity.key, cosignWith: next, origin: identity.origin, clock: { now: () => new Date() } });
  try {
    try {
      await log.start();
    } catch (e) {
      if (isProvenaError(e)) throw new CliError(`the transparency log cannot start: ${e.detail}`, 1);
      throw e;
    }
    // a run interrupted after its entry was committed does not announce the key twice
    const size = await store.log.size();
    const last = size > 0 ? parseEntry((await store.log.entries(size - 1, size))[0]!) : null;
    const done = last !== null && announcedKey(last)?.key === announced && announcedKey(last)?.previousKey === current;
    const index = done ? size - 1 : await store.transaction((tx) => log.append(tx, keyRotationEntry(current, announced, new Date())));
    const checkpoint = await log.flush();
    if (checkpoint.size !== index + 1) throw new CliError(`the rotation entry ${index} is not the last entry of the checkpoint (size ${checkpoint.size}); was a server running?`, 1);

    const history: KeyHistory = (await readKeyHistory(blobs)) ?? { origin: identity.origin, rotations: [] };
    if (!history.rotations.some((r) => r.index === index)) {
      history.rotations.push({ index, previous_key: current, key: announced, checkpoint: checkpoint.note, receipt: await log.receipt(index) });
      await blobs.putBytes(KEY_HISTORY_KEY, new TextEncoder().encode(`${JSON.stringify(history, null, 2)}\n`));
    }
  } finally {
    await log.stop();
    await store.close();
  }
  fs.renameSync(nextFile, keyFile);
  fsyncDir(dataDir);
  out(`provena: the log ${identity.origin} now signs with ${announced}`);
  out(`provena: announced in the log (a key_rotation entry under a checkpoint signed by ${current} and the new key); publish the new key, start the server`);
}


