import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { BlobHandle, BlobStat, BlobStore, ByteRange } from '../../../core/channel/ports.ts';
import { ProvenaError } from '../../../core/errors.ts';
import { BucketLayout, objectHeaders } from './bucket-layout.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  /** where the store lives in the bucket: '' or `a/b` */
  prefix: string;
  client: S3Client;
  /** files larger than this go up in parts (default 64 MiB) */
  multipartThreshold?: number;
  /** part size of a multipart upload (default 16 MiB; S3's minimum is 5 MiB) */
  partSize?: number;
  /** parts in flight at once (default 4) */
  partConcurrency?: number;
}

/** S3's limit for a single PUT or a server-side CopyObject. */
const SINGLE_REQUEST_LIMIT = 5 * 1024 ** 3;

/**
 * Blobs as objects in an S3-compatible bucket (bucket-layout.ts says where). A PUT replaces an object
 * atomically, so a reader sees the old bytes or the new. `open` pins one version: it takes the
 * object's ETag (and VersionId, in a versioned bucket) from a HEAD, and every stream asks for exactly
 * that version (`If-Match`), so a handle's stat and its bytes always agree; when the object was
 * replaced in between, the stream fails with `blob_changed` instead of mixing two versions.
 */
export class S3BlobStore implements BlobStore {
  readonly layout: BucketLayout;
  private readonly bucket: string;
  private readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;

  constructor(o: S3BlobStoreOptions) {
    this.bucket = o.bucket;
    this.client = o.client;
    this.layout = new BucketLayout(o.prefix);
    this.partSize = Math.max(o.partSize ?? 16 * 1024 ** 2, 5 * 1024 ** 2);
    this.multipartThreshold = Math.max(o.multipartThreshold ?? 64 * 1024 ** 2, this.partSize);
    this.partConcurrency = Math.max(1, o.partConcurrency ?? 4);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const objectKey = this.layout.objectKey(key);
    const { size } = await fs.stat(localPath);
    if (size <= this.multipartThreshold) {
      await this.send('store', objectKey, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: createReadStream(localPath),
            ContentLength: size,
            ...objectHeaders(key),
          }),
        ),
      );
    } else {
      await this.putMultipart(key, objectKey, localPath, size);
    }
    await fs.rm(localPath, { force: true });
  }

  /** Parts of `partSize` streamed from the file, a few at a time; any failure aborts the upload. */
  private async putMultipart(key: string, objectKey: string, localPath: string, size: number): Promise<void> {
    const created = await this.send('start a multipart upload of', objectKey, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, ...objectHeaders(key) })),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw storageError('start a multipart upload of', this.bucket, objectKey, new Error('no UploadId in the answer'));
    const count = Math.ceil(size / this.partSize);
    const parts: CompletedPart[] = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const start = i * this.partSize;
        const end = Math.min(size, start + this.partSize) - 1;
        const answer = await this.send(`upload part ${i + 1}/${count} of`, objectKey, () =>
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: objectKey,
              UploadId: uploadId,
              PartNumber: i + 1,
              Body: createReadStream(localPath, { start, end }),
              ContentLength: end - start + 1,
            }),
          ),
        );
        parts[i] = { PartNumber: i + 1, ETag: answer.ETag };
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      await this.send('complete the multipart upload of', objectKey, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        ),
      );
    } catch (e) {
      // nothing half-stored: the parts are dropped and the key keeps what it had
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    const objectKey = this.layout.objectKey(key);
    await this.send('store', objectKey, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: bytes, ContentLength: bytes.byteLength, ...objectHeaders(key) }),
      ),
    );
  }

  async stat(key: string): Promise<BlobStat | null> {
    return (await this.head(key))?.stat ?? null;
  }

  private async head(key: string): Promise<{ stat: BlobStat; versionId: string | undefined } | null> {
    const objectKey = this.layout.objectKey(key);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (h.ETag === undefined || h.ContentLength === undefined) {
        throw storageError('read', this.bucket, objectKey, new Error('the HEAD answer has no ETag or Content-Length'));
      }
      return {
        stat: { size: h.ContentLength, etag: strongEtag(h.ETag), lastModified: h.LastModified ?? new Date(0) },
        versionId: h.VersionId,
      };
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw storageError('read', this.bucket, objectKey, e);
    }
  }

  async open(key: string): Promise<BlobHandle | null> {
    const found = await this.head(key);
    if (!found) return null;
    const { stat, versionId } = found;
    const objectKey = this.layout.objectKey(key);
    const { bucket, client } = this;
    let taken = false;
    return {
      stat,
      stream(range?: ByteRange): Readable {
        if (taken) throw new Error('a blob handle streams once');
        taken = true;
        const out = new PassThrough({ highWaterMark: 256 * 1024 });
        const abort = new AbortController();
        out.once('close', () => abort.abort());
        client
          .send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: objectKey,
              VersionId: versionId,
              IfMatch: stat.etag,
              Range: range ? `bytes=${range.start}-${range.end}` : undefined,
            }),
            { abortSignal: abort.signal },
          )
          .then((res) => {
            // a store that ignores If-Match (some S3 look-alikes) still cannot hand out another version
            if (res.ETag !== undefined && strongEtag(res.ETag) !== stat.etag) {
              (res.Body as Readable | undefined)?.destroy();
              throw changed(bucket, objectKey);
            }
            const body = res.Body as Readable;
            body.once('error', (e) => out.destroy(storageError('read', bucket, objectKey, e)));
            body.pipe(out);
          })
          .catch((e: unknown) => {
            if (out.destroyed) return;
            out.destroy(statusOf(e) === 412 ? changed(bucket, objectKey) : e instanceof ProvenaError ? e : storageError('read', bucket, objectKey, e));
          });
        return out;
      },
      async close() {},
    };
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.layout.objectKey(key);
    await this.send('delete', objectKey, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })));
  }

  async *list(prefix: string): AsyncIterable<string> {
    const objectPrefix = this.layout.listPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.send('list', objectPrefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: objectPrefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key === undefined ? null : this.layout.blobKey(object.Key);
        if (key !== null && key.startsWith(prefix)) yield key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** A server-side copy: the bytes never leave the bucket. */
  async link(fromKey: string, toKey: string): Promise<void> {
    const source = this.layout.objectKey(fromKey);
    const target = this.layout.objectKey(toKey);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          ...objectHeaders(toKey),
        }),
      );
    } catch (e) {
      if (statusOf(e) === 404) throw storageError(`copy to ${target}`, this.bucket, source, new Error('the source does not exist'));
      const size = (await this.stat(fromKey).catch(() => null))?.size ?? 0;
      const hint = size > SINGLE_REQUEST_LIMIT ? ` (objects over 5 GiB need a multipart copy, which this store does not do)` : '';
      throw storageError(`copy to ${target}${hint}`, this.bucket, source, e);
    }
  }

  private async send<T>(what: string, objectKey: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw e instanceof ProvenaError ? e : storageError(what, this.bucket, objectKey, e);
    }
  }
}

/** S3 answers `"hex"`; a few servers send it bare. Either way the validator is the quoted form. */
function strongEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function changed(bucket: string, objectKey: string): ProvenaError {
  return new ProvenaError(
    'blob_changed',
    'unavailable',
    `s3://${bucket}/${objectKey} was replaced while it was being read; ask again for the new version`,
  );
}

/** One line naming the operation, the object and what the bucket said. */
export function storageError(what: string, bucket: string, objectKey: string, e: unknown): ProvenaError {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  const reason = [err?.name && err.name !== 'Error' ? err.name : undefined, status ? `HTTP ${status}` : undefined, err?.message]
    .filter(Boolean)
    .join(', ');
  const hint =
    status === 403 || err?.name === 'CredentialsProviderError'
      ? '; check s3_access_key_id / s3_secret_access_key (or the AWS credential chain) and the bucket policy'
      : status === 404 && err?.name === 'NoSuchBucket'
        ? '; create the bucket or fix the storage setting'
        : status === undefined
          ? '; check s3_endpoint and that the storage service is reachable'
          : '';
  return new ProvenaError('storage_failed', 'unavailable', `cannot ${what} s3://${bucket}/${objectKey}: ${reason || String(e)}${hint}`, {
    cause: e,
  });
}
