import * as fs from 'node:fs';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { Metadata, MetadataKind, type Key, type Root } from '@tufjs/models';
import { buildRoot, expiresAt } from '../../core/tuf/metadata.ts';
import { signerOf, tufKeyOf } from '../../core/tuf/signer.ts';
import { writeNewKey } from '../tuf/key-dir.ts';
import { apiRequest } from './api-client.ts';
import { CliError, usageError } from './cli-error.ts';
import { CLIENT_OPTIONS, out, target } from './client-commands.ts';
import { parse } from './run-cli.ts';

const USAGE = `usage: provena tuf keygen FILE                      # new ed25519 key: FILE (private, 0600) and FILE.pub
       provena tuf init CHANNEL --root-key FILE... [--threshold N] [--expires DAYS]
       provena tuf sign-root CHANNEL --old-root-key FILE... [--root-key FILE...] [--threshold N]
                [--targets-key FILE] [--snapshot-key FILE] [--timestamp-key FILE] [--expires DAYS]
root keys are private key files (they sign); online keys (--targets-key ...) may be public key files,
their private halves must be in the server's tuf_key_dir`;

/**
 * \`provena tuf\`: keys and roots of a channel's signed repodata. \`init\` takes the root offline: the
 * next root names the given keys (threshold N) and is signed by them; the server adds the signature of
 * the root key it made the channel with. \`sign-root\` rotates root or online keys later: the new root
 * is signed by a threshold of the old root keys (\`--old-root-key\`) and of the new ones.
 */
export async function tufCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(
    rest,
    {
      ...CLIENT_OPTIONS,
      'root-key': { type: 'string', multiple: true },
      'old-root-key': { type: 'string', multiple: true },
      threshold: { type: 'string' },
      expires: { type: 'string' },
      'targets-key': { type: 'string' },
      'snapshot-key': { type: 'string' },
      'timestamp-key': { type: 'string' },
    },
    true,
  );
  switch (sub) {
    case 'keygen': {
      const file = positionals[0];
      if (!file || positionals.length !== 1) throw usageError(USAGE);
      if (fs.existsSync(file)) throw usageError(`${file} exists; give a new file name (keys are never overwritten)`);
      writeNewKey(file);
      const key = createPrivateKey(fs.readFileSync(file));
      fs.writeFileSync(`${file}.pub`, createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string);
      out(`${file}: ed25519 key ${tufKeyOf(key).keyID} (public key in ${file}.pub)`);
      return 0;
    }
    case 'init':
    case 'sign-root': {
      const channel = positionals[0];
      if (!channel || positionals.length !== 1) throw usageError(USAGE);
      if (sub === 'init' && !values['root-key']?.length) throw usageError(`give the new root keys: --root-key FILE (repeatable)\n${USAGE}`);
      if (sub === 'sign-root' && !values['old-root-key']?.length) throw usageError(`give the current root's keys to sign the rotation: --old-root-key FILE (repeatable)\n${USAGE}`);
      const t = target(values, env);
      const current = await apiRequest<unknown>(t, 'GET', `/${encodeURIComponent(channel)}/tuf/root.json`);
      const currentRoot = Metadata.fromJSON(MetadataKind.Root, current as never) as Metadata<Root>;
      const newRootKeys = (values['root-key'] ?? []).map((f) => readKey(f, '--root-key', true));
      const oldRootKeys = (values['old-root-key'] ?? []).map((f) => readKey(f, '--old-root-key', true));
      const keysOf = (role: string): Key[] => (currentRoot.signed.roles[role]?.keyIDs ?? []).map((id) => currentRoot.signed.keys[id]!).filter(Boolean);
      const rootKeys = newRootKeys.length > 0 ? newRootKeys.map((k) => tufKeyOf(k)) : keysOf('root');
      const threshold = values.threshold === undefined ? (newRootKeys.length > 0 ? 1 : currentRoot.signed.roles.root!.threshold) : Number(values.threshold);
      if (!Number.isInteger(threshold) || threshold < 1 || threshold > rootKeys.length) {
        throw usageError(`--threshold must be a whole number from 1 to the number of root keys (${rootKeys.length})`);
      }
      const days = values.expires === undefined ? 365 : Number(values.expires);
      if (!Number.isFinite(days) || days <= 0) throw usageError('--expires takes a number of days');
      const online = (role: 'targets' | 'snapshot' | 'timestamp') => {
        const file = values[`${role}-key`];
        return file === undefined ? keysOf(role) : [tufKeyOf(readKey(file, `--${role}-key`, false))];
      };
      const signed = buildRoot(currentRoot.signed.version + 1, expiresAt(new Date(), Math.round(days * 86400)), {
        root: rootKeys,
        rootThreshold: threshold,
        targets: online('targets'),
        snapshot: online('snapshot'),
        timestamp: online('timestamp'),
      });
      const md = new Metadata(signed);
      const seen = new Set<string>();
      for (const k of [...newRootKeys, ...oldRootKeys]) {
        const s = signerOf(k);
        if (seen.has(s.key.keyID)) continue;
        seen.add(s.key.keyID);
        md.sign((data) => s.sign(data), true);
      }
      const res = await apiRequest<{ version: number }>(t, 'PUT', `/api/v1/channels/${encodeURIComponent(channel)}/tuf/root`, md.toJSON());
      out(`${channel}: root version ${res.version} in force (root keys ${rootKeys.map((k) => k.keyID.slice(0, 12)).join(', ')}, threshold ${threshold}; expires ${signed.expires})`);
      return 0;
    }
    default:
      throw usageError(USAGE);
  }
}

function readKey(file: string, flag: string, mustBePrivate: boolean): KeyObject {
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    throw usageError(`${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return createPrivateKey(text);
  } catch {
    if (mustBePrivate) throw usageError(`${flag}: ${file} is not a PEM private key (root keys sign; give the private key file)`);
  }
  try {
    return createPublicKey(text);
  } catch {
    throw new CliError(`${flag}: ${file} is not a PEM key`, 2);
  }
}
