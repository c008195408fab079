import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3BlobStore, storageError } from './s3-blob-store.ts';

export interface S3Settings {
  /** `s3://BUCKET` or `s3://BUCKET/PREFIX` */
  storage: string;
  s3_endpoint?: string | undefined;
  s3_region?: string | undefined;
  s3_access_key_id?: string | undefined;
  s3_secret_access_key?: string | undefined;
  s3_force_path_style?: boolean | undefined;
}

/** `s3://bucket/some/prefix` → bucket and prefix; null when it is not such a URL. */
export function parseStorageUrl(url: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) return null;
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return null;
  return { bucket: m[1]!, prefix };
}

/**
 * The S3 client the settings describe, and a HEAD of the bucket so that a wrong endpoint, bucket or
 * credential stops the start with one line instead of failing the first upload.
 * Credentials: both keys from the settings, or else the AWS SDK's chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, web identity, instance metadata).
 */
export async function openS3BlobStore(s: S3Settings, env: NodeJS.ProcessEnv = process.env): Promise<S3BlobStore> {
  const target = parseStorageUrl(s.storage);
  if (!target) throw new Error(`storage ${JSON.stringify(s.storage)} is not s3://BUCKET[/PREFIX]`);
  const client = new S3Client({
    region: s.s3_region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: s.s3_endpoint,
    forcePathStyle: s.s3_force_path_style ?? false,
    credentials:
      s.s3_access_key_id !== undefined && s.s3_secret_access_key !== undefined
        ? { accessKeyId: s.s3_access_key_id, secretAccessKey: s.s3_secret_access_key }
        : undefined,
    // Streamed bodies must go up as they are: with the SDK's default (checksums on every request)
    // they are sent aws-chunked, which S3-compatible servers such as s3rver store framing and all.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: target.bucket }));
  } catch (e) {
    throw storageError('reach the bucket', target.bucket, target.prefix, e);
  }
  return new S3BlobStore({ bucket: target.bucket, prefix: target.prefix, client });
}
