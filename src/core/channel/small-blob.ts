import { notFound } from '../errors.ts';
import type { BlobStore } from './ports.ts';

/** The whole of a small blob (an attestation sidecar), or a not-found error naming what is missing. */
export async function readSmallBlob(blobs: BlobStore, key: string, what: string): Promise<Buffer> {
  const handle = await blobs.open(key);
  if (!handle) throw notFound('attestation_not_found', `${what} is missing from storage`);
  const chunks: Buffer[] = [];
  for await (const chunk of handle.stream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
