import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../src/adapters/blobs/s3/s3-blob-store.ts';

/** s3rver's built-in account */
export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET_KEY = 'S3RVER';

export interface RunningS3 {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  bucket: string;
  directory: string;
  client(): S3Client;
  /** a store over `s3://bucket/prefix`, with small multipart sizes when asked */
  store(prefix: string, opts?: { multipartThreshold?: number; partSize?: number }): S3BlobStore;
  /** settings for `provena serve|import` to use this bucket (flags and environment) */
  serverArgs(prefix: string): string[];
  serverEnv(): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A real S3 API on 127.0.0.1 (s3rver in a child process, on a free port, objects in a temporary
 * directory), with one bucket. Nothing leaves the machine.
 */
export async function startS3(bucket = 'provena-test'): Promise<RunningS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-s3-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url)), directory, bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start in 60 s:\n${out}`)), 60_000);
    child.stderr!.on('data', (d) => (out += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /s3rver listening on (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}:\n${out}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  const client = () => {
    const c = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(c);
    return c;
  };
  return {
    endpoint,
    bucket,
    directory,
    client,
    store: (prefix, opts = {}) => new S3BlobStore({ bucket, prefix, client: client(), ...opts }),
    serverArgs: (prefix) => ['--storage', `s3://${bucket}/${prefix}`, '--s3-endpoint', endpoint, '--s3-force-path-style', 'true', '--s3-region', 'us-east-1'],
    serverEnv: () => ({ PROVENA_S3_ACCESS_KEY_ID: S3_ACCESS_KEY, PROVENA_S3_SECRET_ACCESS_KEY: S3_SECRET_KEY }),
    async stop() {
      for (const c of clients) c.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        });
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
