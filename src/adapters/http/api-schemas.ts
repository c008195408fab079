/**
 * The JSON shapes of the API (json-views.ts makes them), as JSON Schema for the OpenAPI document.
 * They document; they never validate or serialize (openapi.ts says why), so a shape here must follow
 * json-views.ts, not the other way round: test/docs/openapi.test.ts checks real answers against them.
 */

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const sha256Hex = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

/** Every refusal: `{error, detail}`, sometimes with more fields (e.g. the expected and actual value). */
export const errorSchema = {
  type: 'object',
  required: ['error', 'detail'],
  properties: {
    error: { type: 'string', description: 'a stable code, e.g. invalid_channel_name, sha256_mismatch, signer_not_trusted' },
    detail: { type: 'string', description: 'what is wrong and what to do, for people' },
  },
  additionalProperties: true,
} as const;

const ERROR_MEANING: Record<number, string> = {
  400: 'bad request: malformed body, query or parameter',
  401: 'no or unknown token',
  403: 'the token may not do this',
  404: 'no such resource (or a private one the caller may not read)',
  409: 'it exists already',
  413: 'too large',
  422: 'refused: the detail names the check',
};

/** Documented error answers of a route: `errors(401, 404)`. */
export function errors(...codes: number[]): Record<number, unknown> {
  return Object.fromEntries(codes.map((c) => [c, { description: ERROR_MEANING[c] ?? 'refused', ...errorSchema }]));
}

export const channelSchema = {
  type: 'object',
  required: ['name', 'private', 'require_attestations', 'max_package_size', 'created_at', 'url'],
  properties: {
    name: str,
    private: { type: 'boolean' },
    require_attestations: { type: 'boolean' },
    max_package_size: { type: ['integer', 'null'], description: "the largest package the channel accepts, in bytes; null: the server's max_package_size" },
    created_at: time,
    url: { type: 'string', description: 'the channel URL conda, mamba and pixi use' },
  },
} as const;

export const keySchema = {
  type: 'object',
  required: ['id', 'channel', 'scope', 'description', 'created_at', 'expires_at', 'revoked_at'],
  properties: {
    id: str,
    channel: str,
    scope: { type: 'string', enum: ['read', 'upload', 'admin'] },
    description: nullableStr,
    created_at: time,
    expires_at: nullableStr,
    revoked_at: nullableStr,
  },
} as const;

export const packageSchema = {
  type: 'object',
  required: ['channel', 'subdir', 'filename', 'sha256', 'md5', 'size', 'record', 'uploaded_at', 'uploaded_by', 'attestations_sha256'],
  properties: {
    channel: str,
    subdir: str,
    filename: str,
    sha256: sha256Hex,
    md5: str,
    size: { type: 'integer' },
    record: { type: 'object', additionalProperties: true, description: 'the repodata record, as repodata.json serves it' },
    uploaded_at: time,
    uploaded_by: { type: 'string', description: '`admin`, `key:ID` or `publisher:ID`' },
    attestations_sha256: { type: ['string', 'null'], description: 'sha256 of the .sigs sidecar when attested' },
  },
} as const;

export const receiptSchema = {
  type: 'object',
  required: ['log_index', 'entry', 'checkpoint', 'inclusion_proof'],
  properties: {
    log_index: { type: 'integer' },
    entry: { type: 'string', description: 'base64 of the logged bytes (canonical JSON)' },
    checkpoint: { type: 'string', description: 'the signed checkpoint note covering the entry' },
    inclusion_proof: { type: 'array', items: str, description: 'RFC 9162 inclusion proof, base64 hashes' },
    opening: {
      type: 'object',
      required: ['log_index', 'salt', 'entry'],
      properties: { log_index: { type: 'integer' }, salt: str, entry: { type: 'object', additionalProperties: true } },
      description: "a blinded (private channel) entry's opening: only for readers of the channel",
    },
  },
} as const;

export const publisherSchema = {
  type: 'object',
  required: ['id', 'channel', 'kind', 'created_at'],
  properties: {
    id: str,
    channel: str,
    kind: { type: 'string', enum: ['github', 'gitlab', 'generic'] },
    created_at: time,
    repository: { type: 'string', description: 'github' },
    workflow: { type: 'string', description: 'github: the workflow file name' },
    repository_owner_id: { type: ['string', 'null'], description: 'github' },
    project: { type: 'string', description: 'gitlab' },
    ci_config_path: { type: 'string', description: 'gitlab' },
    environment: { type: ['string', 'null'], description: 'github, gitlab' },
    issuer: { type: 'string', description: 'gitlab, generic' },
    claims: { type: 'object', additionalProperties: str, description: 'generic: exact claim values' },
  },
} as const;

export const publisherInputSchema = {
  type: 'object',
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['github', 'gitlab', 'generic'] },
    repository: { type: 'string', description: 'github: OWNER/NAME' },
    workflow: { type: 'string', description: 'github: e.g. release.yml' },
    repository_owner_id: { type: 'string', description: 'github: the numeric owner id (pinned by the first token otherwise)' },
    project: { type: 'string', description: 'gitlab: GROUP/PROJECT' },
    ci_config_path: { type: 'string', description: 'gitlab: e.g. .gitlab-ci.yml' },
    environment: { type: 'string', description: 'github, gitlab: the deployment environment the job must run in' },
    issuer: { type: 'string', description: 'gitlab (instance URL), generic (the exact iss)' },
    claims: { type: 'object', additionalProperties: str, description: 'generic: claims the token must carry exactly' },
  },
} as const;

export const channelParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', description: 'channel name' } } } as const;
export const fileParams = {
  type: 'object',
  required: ['name', 'subdir', 'file'],
  properties: {
    name: { type: 'string', description: 'channel name' },
    subdir: { type: 'string', description: 'e.g. linux-64, noarch' },
    file: { type: 'string', description: 'package filename, e.g. zlib-1.2.11-h7b6447c_3.conda' },
  },
} as const;

/** Routes that take `Authorization: Bearer TOKEN` (admin token, API key or minted upload token). */
export const bearer: Record<string, string[]>[] = [{ bearer: [] }];
/** Routes that anyone may call; a token widens what they see (private channels). */
export const optionalBearer: Record<string, string[]>[] = [{}, { bearer: [] }];
