import { createHash } from 'node:crypto';
import { decode as decodeMsgpack } from '@msgpack/msgpack';
import { MAX_BUNDLE_BYTES } from '../../core/attest/bundle.ts';
import { ProvenaError, unprocessable } from '../../core/errors.ts';
import { packageNameOfFilename } from '../../core/repodata/subdir-records.ts';
import { zstdDecompress } from '../../core/repodata/zstd.ts';
import type { ChannelReader, RecordView } from '../../core/verify/channel-package.ts';
import { decodeConsistencyProof, type LogSource } from '../../core/verify/log-check.ts';
import type { SignedRepodata } from '../tuf/tuf-client.ts';

/**
 * What `provena verify` and `verify-env` read over HTTP: repodata (sharded when offered, CEP-16, so a
 * large channel costs only the shards of the packages checked), sidecars, receipts and the log. Every
 * response is bounded; a network failure or a 5xx is `unavailable` (exit 3), 401/403 `forbidden`.
 */
const TIMEOUT_MS = 60_000;
const MAX_SIDECAR_BYTES = MAX_BUNDLE_BYTES * 4;
const MAX_SHARD_INDEX_BYTES = 64 * 1024 * 1024;
const MAX_SHARD_BYTES = 64 * 1024 * 1024;
const MAX_REPODATA_BYTES = 1024 * 1024 * 1024;
const MAX_SMALL_BYTES = 1024 * 1024;
/** read the whole repodata instead of shards when at least this many names, and this share of the subdir's names, are wanted */
const FULL_REPODATA_MIN_NAMES = 16;
const FULL_REPODATA_SHARE = 0.3;

export class Http {
  /** requests made, for reports and the bench */
  requests = 0;

  async get(url: string, maxBytes: number): Promise<Uint8Array | null> {
    const res = await this.fetch(url);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return null;
    }
    this.check(res, url);
    return readBounded(res, url, maxBytes);
  }

  /** Streams the body through sha256 without keeping it: memory does not grow with the package. */
  async hash(url: string): Promise<{ sha256: string; size: number } | null> {
    const res = await this.fetch(url);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return null;
    }
    this.check(res, url);
    const h = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        size += chunk.byteLength;
      }
    } catch (e) {
      throw unavailable(`downloading ${redact(url)} failed: ${describe(e)}`);
    }
    return { sha256: h.digest('hex'), size };
  }

  /**
   * Every request is a GET, so a connection the server closed while it sat idle in the pool (the
   * keep-alive race: "other side closed", ECONNRESET) is retried on a new one, twice at most.
   */
  private async fetch(url: string): Promise<Response> {
    const { href, headers } = withCredentials(url);
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      try {
        return await fetch(href, { headers, redirect: 'follow', signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (e) {
        if (attempt >= 3 || !isStaleConnection(e)) throw unavailable(`cannot reach ${redact(url)}: ${describe(e)}`);
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  }

  private check(res: Response, url: string): void {
    if (res.ok) return;
    void res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw new ProvenaError('access_denied', 'forbidden', `${redact(url)} answered ${res.status}: no access`);
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw unavailable(`${redact(url)} answered ${res.status}`);
    throw unprocessable('http_error', `${redact(url)} answered ${res.status}`);
  }
}

function isStaleConnection(e: unknown): boolean {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  return ['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE'].includes(code) || /other side closed/.test(String(cause?.message ?? ''));
}

/** fetch() refuses URLs with credentials: they travel as Basic authentication instead. */
function withCredentials(url: string): { href: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return { href: url, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { href: u.toString(), headers: { authorization: `Basic ${auth}` } };
}

async function readBounded(res: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    void res.body?.cancel();
    throw unprocessable('response_too_large', `${redact(url)} is ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes) throw unprocessable('response_too_large', `${redact(url)} is more than the ${maxBytes} bytes allowed`);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof ProvenaError) throw e;
    throw unavailable(`reading ${redact(url)} failed: ${describe(e)}`);
  }
  return Buffer.concat(chunks, total);
}

// ---------------------------------------------------------------------------------------------
// Repodata

/** A record as far as verification and spec selection need it. */
export interface RecordEntry extends RecordView {
  filename: string;
  name: string;
  version: string;
  build: string;
  build_number: number;
  timestamp: number | undefined;
  subdir: string;
}

type SubdirIndex =
  | { kind: 'shards'; shards: Map<string, Uint8Array>; shardBase: string }
  | { kind: 'full'; records: Map<string, RecordEntry> };

export class HttpChannelReader implements ChannelReader {
  private readonly indexes = new Map<string, Promise<SubdirIndex>>();
  private readonly shards = new Map<string, Promise<Map<string, RecordEntry>>>();
  /** package names the caller will ask for, by channel and subdir */
  private readonly expected = new Map<string, Set<string>>();

  /** `signed`: repodata through the channel's TUF metadata when it offers it (see tuf-client.ts) */
  constructor(
    readonly http: Http,
    private readonly signed?: SignedRepodata,
  ) {}

  /** A subdir's repodata file: verified against the channel's signed metadata when there is some. */
  private async repodataFile(channel: string, subdir: string, file: string, maxBytes: number): Promise<Uint8Array | null> {
    const verified = await this.signed?.file(channel, subdir, file);
    if (verified !== undefined) return verified;
    return this.http.get(`${channel}/${subdir}/${file}`, maxBytes);
  }

  /**
   * Says which packages will be asked for: when they are a large part of a sharded subdir, one
   * repodata.json.zst costs fewer requests than a shard per name (and no more memory than those shards).
   */
  expect(channel: string, subdir: string, filename: string): void {
    const key = `${trim(channel)}|${subdir}`;
    const names = this.expected.get(key) ?? new Set<string>();
    names.add(packageNameOfFilename(filename));
    this.expected.set(key, names);
  }

  async record(channel: string, subdir: string, filename: string): Promise<RecordView | null> {
    return (await this.recordsOf(channel, subdir, packageNameOfFilename(filename))).get(filename) ?? null;
  }

  /** Every record of one package name in the subdir (for `verify --channel URL SPEC`). */
  async recordsByName(channel: string, subdir: string, name: string): Promise<RecordEntry[]> {
    return [...(await this.recordsOf(channel, subdir, name)).values()].filter((r) => r.name === name);
  }

  async sidecar(channel: string, subdir: string, filename: string, suffix: '.sigs' | '.v0.sigs'): Promise<Uint8Array | null> {
    return this.http.get(`${trim(channel)}/${subdir}/${filename}${suffix}`, MAX_SIDECAR_BYTES);
  }

  private async recordsOf(channel: string, subdir: string, name: string): Promise<Map<string, RecordEntry>> {
    const index = await this.index(channel, subdir);
    if (index.kind === 'full') return index.records;
    const key = `${trim(channel)}|${subdir}|${name}`;
    let shard = this.shards.get(key);
    if (shard === undefined) {
      shard = this.loadShard(index, name, subdir);
      this.shards.set(key, shard);
    }
    return shard;
  }

  private index(channel: string, subdir: string): Promise<SubdirIndex> {
    const key = `${trim(channel)}|${subdir}`;
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = this.loadIndex(trim(channel), subdir);
      this.indexes.set(key, index);
    }
    return index;
  }

  private async loadIndex(channel: string, subdir: string): Promise<SubdirIndex> {
    const indexUrl = `${channel}/${subdir}/repodata_shards.msgpack.zst`;
    const sharded = await this.repodataFile(channel, subdir, 'repodata_shards.msgpack.zst', MAX_SHARD_INDEX_BYTES);
    if (sharded !== null) {
      const doc = decodeZstdMsgpack(sharded, MAX_SHARD_INDEX_BYTES, indexUrl) as { info?: { shards_base_url?: unknown }; shards?: unknown };
      const shards = new Map<string, Uint8Array>();
      if (typeof doc?.shards !== 'object' || doc.shards === null) throw unprocessable('repodata_invalid', `${indexUrl}: no "shards" map`);
      for (const [name, sha] of Object.entries(doc.shards as Record<string, unknown>)) {
        if (!(sha instanceof Uint8Array) || sha.length !== 32) throw unprocessable('repodata_invalid', `${indexUrl}: shard of ${name} is not a 32-byte sha256`);
        shards.set(name, sha);
      }
      const base = typeof doc.info?.shards_base_url === 'string' ? doc.info.shards_base_url : './shards/';
      const wanted = this.expected.get(`${channel}|${subdir}`)?.size ?? 0;
      if (wanted < FULL_REPODATA_MIN_NAMES || wanted < shards.size * FULL_REPODATA_SHARE) {
        return { kind: 'shards', shards, shardBase: new URL(base.endsWith('/') ? base : `${base}/`, indexUrl).toString() };
      }
    }
    let json: Uint8Array | null = null;
    const zst = await this.repodataFile(channel, subdir, 'repodata.json.zst', MAX_REPODATA_BYTES);
    if (zst !== null) json = zstdDecompressOrRefuse(zst, MAX_REPODATA_BYTES, `${channel}/${subdir}/repodata.json.zst`);
    else json = await this.repodataFile(channel, subdir, 'repodata.json', MAX_REPODATA_BYTES);
    if (json === null) throw unprocessable('repodata_missing', `${channel}/${subdir} serves no repodata (repodata_shards.msgpack.zst, repodata.json.zst, repodata.json: all 404)`);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(Buffer.from(json).toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw unprocessable('repodata_invalid', `${channel}/${subdir}/repodata.json is not JSON: ${(e as Error).message}`);
    }
    return { kind: 'full', records: entriesOf(doc, subdir) };
  }

  private async loadShard(index: Extract<SubdirIndex, { kind: 'shards' }>, name: string, subdir: string): Promise<Map<string, RecordEntry>> {
    const sha = index.shards.get(name);
    if (sha === undefined) return new Map();
    const hex = Buffer.from(sha).toString('hex');
    const url = `${index.shardBase}${hex}.msgpack.zst`;
    const bytes = await this.http.get(url, MAX_SHARD_BYTES);
    if (bytes === null) throw unprocessable('repodata_invalid', `${url}: the shard the index names is not served`);
    // shards are addressed by their content: a shard that is not what the index names is refused
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) throw unprocessable('repodata_shard_mismatch', `${url}: expected sha256 ${hex} (the shard index), got ${actual}`);
    return entriesOf(decodeZstdMsgpack(bytes, MAX_SHARD_BYTES, url) as Record<string, unknown>, subdir);
  }
}

function entriesOf(doc: Record<string, unknown>, subdir: string): Map<string, RecordEntry> {
  const out = new Map<string, RecordEntry>();
  for (const section of ['packages', 'packages.conda']) {
    const records = doc?.[section];
    if (typeof records !== 'object' || records === null) continue;
    for (const [filename, raw] of Object.entries(records as Record<string, unknown>)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const r = raw as Record<string, unknown>;
      out.set(filename, {
        filename,
        name: typeof r.name === 'string' ? r.name : packageNameOfFilename(filename),
        version: typeof r.version === 'string' ? r.version : '',
        build: typeof r.build === 'string' ? r.build : '',
        build_number: typeof r.build_number === 'number' ? r.build_number : 0,
        timestamp: typeof r.timestamp === 'number' ? r.timestamp : undefined,
        subdir: typeof r.subdir === 'string' ? r.subdir : subdir,
        sha256: digest(r.sha256, 64),
        md5: digest(r.md5, 32),
        size: typeof r.size === 'number' ? r.size : null,
        attestationsSha256: digest(r.attestations_sha256, 64),
      });
    }
  }
  return out;
}

/** Hex in repodata.json, raw bytes in shards (CEP-16); anything else is no digest at all. */
function digest(v: unknown, hexLength: number): string | null {
  if (v instanceof Uint8Array && v.length * 2 === hexLength) return Buffer.from(v).toString('hex');
  if (typeof v === 'string' && v.length === hexLength && /^[0-9a-fA-F]+$/.test(v)) return v.toLowerCase();
  return null;
}

function decodeZstdMsgpack(bytes: Uint8Array, max: number, url: string): unknown {
  const raw = zstdDecompressOrRefuse(bytes, max, url);
  try {
    return decodeMsgpack(raw);
  } catch (e) {
    throw unprocessable('repodata_invalid', `${url} is not msgpack: ${(e as Error).message}`);
  }
}

function zstdDecompressOrRefuse(bytes: Uint8Array, max: number, url: string): Buffer {
  try {
    return zstdDecompress(bytes, max);
  } catch (e) {
    throw unprocessable('repodata_invalid', `${url}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Transparency log

/**
 * The server a channel URL belongs to: the channel is the last path segment (after an optional
 * `/t/TOKEN`), and the log lives at the server's root (`SERVER/log/...`).
 */
export function serverOf(fetchChannelUrl: string): string {
  const u = new URL(trim(fetchChannelUrl));
  const segments = u.pathname.split('/').filter((s) => s !== '');
  segments.pop();
  if (segments.length >= 2 && segments[segments.length - 2] === 't') segments.splice(-2, 2);
  u.pathname = segments.length > 0 ? `/${segments.join('/')}` : '';
  return trim(u.toString());
}

export class HttpLogSource implements LogSource {
  constructor(
    private readonly http: Http,
    readonly server: string,
  ) {}

  async checkpoint(): Promise<string | null> {
    const bytes = await this.http.get(`${this.server}/log/checkpoint`, MAX_SMALL_BYTES);
    return bytes === null ? null : Buffer.from(bytes).toString('utf8');
  }

  async key(): Promise<string> {
    const bytes = await this.http.get(`${this.server}/log/key`, MAX_SMALL_BYTES);
    if (bytes === null) throw unprocessable('log_key_missing', `${this.server}/log/key is not served, though the server serves a checkpoint`);
    return Buffer.from(bytes).toString('utf8').trim();
  }

  async receipt(fetchChannelUrl: string, subdir: string, filename: string): Promise<unknown | null> {
    const bytes = await this.http.get(`${trim(fetchChannelUrl)}/${subdir}/${filename}.receipt.json`, MAX_SMALL_BYTES);
    if (bytes === null) return null;
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      throw unprocessable('receipt_malformed', `${filename}.receipt.json is not JSON`);
    }
  }

  async consistency(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    const url = `${this.server}/api/v1/log/proof/consistency?old=${oldSize}&new=${newSize}`;
    const bytes = await this.http.get(url, MAX_SMALL_BYTES);
    if (bytes === null) throw new Error(`the server gives no consistency proof from size ${oldSize} to ${newSize}`);
    return decodeConsistencyProof(JSON.parse(Buffer.from(bytes).toString('utf8')));
  }
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}

function unavailable(detail: string): ProvenaError {
  return new ProvenaError('network_error', 'unavailable', detail);
}

function describe(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  return String((cause as Error)?.message ?? cause ?? (e as Error)?.message ?? e);
}

/** URLs in messages never carry credentials (a conda `/t/TOKEN/` is a credential too). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/t\/[^/]+\//, '/t/***/');
  } catch {
    return url;
  }
}
