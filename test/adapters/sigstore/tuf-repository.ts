/**
 * A small TUF repository for tests, laid out like Sigstore's CDN (consistent snapshots: N.root.json,
 * N.snapshot.json, N.targets.json, timestamp.json, targets/HASH.NAME), with metadata built by @tufjs/models and
 * signed with generated ed25519 keys, served on 127.0.0.1. Each `publish` makes new timestamp, snapshot and
 * targets versions, so a client that cached the previous ones fetches the new; options break one thing at a time.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

interface SigningKey {
  key: Key;
  privateKey: KeyObject;
}

const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
type Role = (typeof ROLES)[number];

export interface PublishOptions {
  /** the trusted_root.json bytes the targets metadata lists */
  target: Buffer;
  /** served instead of `target` (same name and hash in the metadata): a tampered download */
  servedTarget?: Buffer;
  /** when the timestamp metadata expires (default: in a week) */
  timestampExpires?: Date;
  /** sign the timestamp with a key the root does not list */
  timestampSignedByStranger?: boolean;
}

export interface TufRepository {
  url: string;
  /** the current root metadata, as a client would be given it out of band (--tuf-root) */
  rootJson(version?: number): Buffer;
  rootVersion(): number;
  publish(opts: PublishOptions): void;
  /** a new root version with a new root key, signed by the old and the new root key */
  rotateRoot(): void;
  close(): Promise<void>;
}

function newKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } };
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return { key: new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: raw } }), privateKey };
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const tufTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const signer = (k: SigningKey) => (data: Buffer) => new Signature({ keyID: k.key.keyID, sig: sign(null, data, k.privateKey).toString('hex') });
const bytesOf = (m: Metadata<Root | Targets | Snapshot | Timestamp>) => Buffer.from(JSON.stringify(m.toJSON()));

export async function startTufRepository(): Promise<TufRepository> {
  const keys: Record<Role, SigningKey> = { root: newKey(), targets: newKey(), snapshot: newKey(), timestamp: newKey() };
  const files = new Map<string, Buffer>();
  const roots: Buffer[] = [];
  let version = 0; // timestamp/snapshot/targets move together

  const makeRoot = (v: number, signers: SigningKey[]) => {
    const root = new Root({ version: v, specVersion: '1.0.31', expires: inDays(365), consistentSnapshot: true });
    for (const role of ROLES) root.addKey(keys[role].key, role);
    const md = new Metadata(root);
    for (const s of signers) md.sign(signer(s));
    const bytes = bytesOf(md);
    roots[v - 1] = bytes;
    files.set(`/${v}.root.json`, bytes);
  };
  makeRoot(1, [keys.root]);

  const server: Server = createServer((req, res) => {
    const body = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    rootJson: (v = roots.length) => roots[v - 1]!,
    rootVersion: () => roots.length,
    publish(opts) {
      version++;
      const sha256 = createHash('sha256').update(opts.target).digest('hex');
      const targets = new Targets({ version, specVersion: '1.0.31', expires: inDays(30) });
      targets.addTarget(new TargetFile({ path: 'trusted_root.json', length: opts.target.length, hashes: { sha256 } }));
      const targetsMd = new Metadata(targets);
      targetsMd.sign(signer(keys.targets));
      const targetsBytes = bytesOf(targetsMd);

      const snapshotMd = new Metadata(new Snapshot({ version, specVersion: '1.0.31', expires: inDays(14), meta: { 'targets.json': new MetaFile({ version }) } }));
      snapshotMd.sign(signer(keys.snapshot));
      const snapshotBytes = bytesOf(snapshotMd);

      const timestampMd = new Metadata(
        new Timestamp({
          version,
          specVersion: '1.0.31',
          expires: opts.timestampExpires ? tufTime(opts.timestampExpires) : inDays(7),
          snapshotMeta: new MetaFile({ version, length: snapshotBytes.length, hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') } }),
        }),
      );
      timestampMd.sign(signer(opts.timestampSignedByStranger ? newKey() : keys.timestamp));

      files.set(`/${version}.targets.json`, targetsBytes);
      files.set(`/${version}.snapshot.json`, snapshotBytes);
      files.set('/timestamp.json', bytesOf(timestampMd));
      files.set(`/targets/${sha256}.trusted_root.json`, opts.servedTarget ?? opts.target);
    },
    rotateRoot() {
      const old = keys.root;
      keys.root = newKey();
      makeRoot(roots.length + 1, [old, keys.root]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
