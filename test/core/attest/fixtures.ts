import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { publicGoodTrustRoot, stagingTrustRoot } from '../../../src/adapters/sigstore/trusted-roots.ts';
import type { SigstoreTrustRoot } from '../../../src/core/attest/trust-root.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import type { TrustedPublisher } from '../../../src/core/publish/publisher.ts';

/** Real vectors, copied unchanged from the team's shared set (see vectors/SOURCES.md), and what each attests. */
const VECTORS = new URL('./vectors/', import.meta.url);

export const actionlint = {
  /** `.v0.sigs` sidecar: a JSON array holding one public-good bundle */
  sidecar: readFileSync(new URL('actionlint-1.7.12-h60d57d3_0.conda.v0.sigs', VECTORS)),
  filename: 'actionlint-1.7.12-h60d57d3_0.conda',
  sha256: 'e3e0f35dec5b09b18baac8729d14115903b5adfd25065f8bbb90a2b3be5401e4',
  channelUrl: 'https://prefix.dev/github-releases',
};

export const staging = {
  bundle: readFileSync(new URL('signed-package-2.1.0-hb0f4dca_0.conda.rekor2-staging.sigstore.json', VECTORS)),
  filename: 'signed-package-2.1.0-hb0f4dca_0.conda',
  sha256: '54303491a8418fbed24344b513546182c29b43bf282ceb433af65e2299f9271f',
  channelUrl: 'https://example.com/my-channel',
};

/** The actionlint bundle alone: the sidecar minus its brackets (and final newline), byte for byte. */
export const actionlintBundle: Buffer = actionlint.sidecar.subarray(1, actionlint.sidecar.lastIndexOf(']'));

let roots: { publicGood: SigstoreTrustRoot; staging: SigstoreTrustRoot } | undefined;
export function trustRoots(): { publicGood: SigstoreTrustRoot; staging: SigstoreTrustRoot } {
  roots ??= { publicGood: publicGoodTrustRoot(), staging: stagingTrustRoot() };
  return roots;
}

/** Parses bundle bytes, lets `edit` change the JSON object, and serialises it again. */
export function editJson(bytes: Uint8Array, edit: (json: any) => void): Buffer {
  const json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  edit(json);
  return Buffer.from(JSON.stringify(json));
}

/** Base64 field → bytes → changed → canonical base64 again, so only the decoded content differs. */
export function flipDecoded(b64: string, index: number, mask = 0x01): string {
  const bytes = Buffer.from(b64, 'base64');
  const i = ((index % bytes.length) + bytes.length) % bytes.length;
  bytes[i] = bytes[i]! ^ mask;
  return bytes.toString('base64');
}

/** Asserts that `fn` throws a ProvenaError with this code, and returns it for further checks. */
export function throwsCode(fn: () => unknown, code: string, kind = 'unprocessable') {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(isProvenaError(caught), `expected a ProvenaError ${code}, got ${String((caught as Error)?.stack ?? caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.detail}`);
  assert.equal(caught.kind, kind);
  return caught;
}

export function githubPublisher(over: Partial<Extract<TrustedPublisher, { kind: 'github' }>> = {}): TrustedPublisher {
  return {
    id: 'pub-github',
    channel: 'github-releases',
    createdAt: '2026-01-01T00:00:00Z',
    kind: 'github',
    repository: 'hunger/octoconda',
    workflow: 'octoconda.yaml',
    environment: null,
    ...over,
  };
}
