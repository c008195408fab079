import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ajv } from 'ajv';
import { createApp } from '../../src/app.ts';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { tempSqliteStore } from '../support/sqlite-store.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { uploadRaw } from '../support/upload.ts';

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, any>>;
  components?: { securitySchemes?: Record<string, unknown>; schemas?: Record<string, unknown> };
  tags?: { name: string }[];
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Fastify's `:param` → OpenAPI's `{param}` */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

let server: RunningServer;
let doc: Doc;

before(async () => {
  server = await startServer();
  const res = await fetch(`${server.url}/api/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  doc = (await res.json()) as Doc;
});
after(async () => {
  await server?.stop();
});

test('the document is structurally valid OpenAPI 3.x', () => {
  assert.match(doc.openapi, /^3\.[01]\.\d+$/);
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.ok(Object.keys(doc.paths).length > 0);
  const schemes = doc.components?.securitySchemes ?? {};
  const tags = new Set((doc.tags ?? []).map((t) => t.name));
  const operationIds = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths)) {
    assert.match(p, /^\//, `path ${p} starts with /`);
    const templated = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const [method, op] of Object.entries(item)) {
      assert.ok(METHODS.includes(method), `${p}: ${method} is an HTTP method`);
      const where = `${method.toUpperCase()} ${p}`;
      assert.ok(op.responses && Object.keys(op.responses).length > 0, `${where} has responses`);
      for (const [status, r] of Object.entries<any>(op.responses)) {
        assert.match(status, /^([1-5][0-9]{2}|[1-5]XX|default)$/, `${where}: response key ${status}`);
        assert.equal(typeof r.description, 'string', `${where} ${status} has a description`);
        for (const [type, media] of Object.entries<any>(r.content ?? {})) {
          assert.match(type, /^[a-z]+\/[a-z0-9.+*-]+$/i, `${where} ${status}: media type ${type}`);
          assert.equal(typeof media.schema, 'object', `${where} ${status} ${type} has a schema`);
        }
      }
      const params: any[] = op.parameters ?? [];
      for (const prm of params) {
        assert.ok(['path', 'query', 'header', 'cookie'].includes(prm.in), `${where}: parameter ${prm.name} in ${prm.in}`);
        assert.equal(typeof prm.name, 'string');
        if (prm.in === 'path') assert.equal(prm.required, true, `${where}: path parameter ${prm.name} is required`);
      }
      const pathParams = params.filter((x) => x.in === 'path').map((x) => x.name).sort();
      assert.deepEqual(pathParams, [...templated].sort(), `${where}: path parameters match the template`);
      if (op.requestBody) {
        assert.ok(Object.keys(op.requestBody.content ?? {}).length > 0, `${where}: request body has content`);
      }
      for (const req of op.security ?? []) {
        for (const name of Object.keys(req)) assert.ok(name in schemes, `${where}: security scheme ${name} is defined`);
      }
      for (const t of op.tags ?? []) assert.ok(tags.has(t), `${where}: tag ${t} is declared`);
      if (op.operationId) {
        assert.ok(!operationIds.has(op.operationId), `operationId ${op.operationId} is unique`);
        operationIds.add(op.operationId);
      }
    }
  }
  // every $ref points at something in the document
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
  for (const ref of refs) {
    assert.match(ref, /^#\//, `local $ref ${ref}`);
    let node: any = doc;
    for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    assert.ok(node !== undefined, `$ref ${ref} resolves`);
  }
});

test('every registered /api route and method is documented, with a summary, tags and its answers', async () => {
  const registered = await registeredApiRoutes();
  assert.ok(registered.length >= 20, `found ${registered.length} /api routes`);
  const missing: string[] = [];
  for (const { method, url } of registered) {
    const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
    if (!op) {
      missing.push(`${method} ${url}: not in /api/openapi.json (give the route a schema with tags)`);
      continue;
    }
    if (!op.summary) missing.push(`${method} ${url}: no summary`);
    if (!op.tags?.length) missing.push(`${method} ${url}: no tags`);
    const statuses = Object.keys(op.responses ?? {});
    if (!statuses.some((s) => /^2/.test(s))) missing.push(`${method} ${url}: no success response documented`);
    const params = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    for (const p of params) {
      const prm = op.parameters?.find((x: any) => x.in === 'path' && x.name === p);
      if (!prm?.schema) missing.push(`${method} ${url}: path parameter ${p} has no schema`);
    }
  }
  assert.deepEqual(missing, []);
  // and nothing is documented that is not served
  const served = new Set(registered.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) assert.ok(served.has(`${method} ${p}`), `${method} ${p} is documented but not served`);
  }
});

test('the documented response schemas describe what the server really answers', async () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const check = (method: string, url: string, status: number, body: unknown) => {
    const op = doc.paths[url]?.[method];
    assert.ok(op, `${method} ${url} is documented`);
    const r = op.responses[String(status)];
    assert.ok(r, `${method} ${url}: status ${status} is documented`);
    const schema = r.content?.['application/json']?.schema;
    assert.ok(schema, `${method} ${url} ${status}: a JSON schema`);
    const validate = ajv.compile(closed(schema));
    assert.ok(validate(body), `${method} ${url} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  };

  const created = await api(server, 'POST', '/api/v1/channels', { name: 'docs' });
  check('post', '/api/v1/channels', created.status, created.json);
  const dup = await api(server, 'POST', '/api/v1/channels', { name: 'docs' });
  check('post', '/api/v1/channels', dup.status, dup.json);
  const listed = await api(server, 'GET', '/api/v1/channels');
  check('get', '/api/v1/channels', listed.status, listed.json);
  const patched = await api(server, 'PATCH', '/api/v1/channels/docs', { require_attestations: false });
  check('patch', '/api/v1/channels/{name}', patched.status, patched.json);

  const key = await api(server, 'POST', '/api/v1/keys', { channel: 'docs', scope: 'upload', description: 'ci' });
  check('post', '/api/v1/keys', key.status, key.json);
  const keys = await api(server, 'GET', '/api/v1/keys?channel=docs');
  check('get', '/api/v1/keys', keys.status, keys.json);

  const spec = { name: 'docpkg', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
  const filename = packageFilename(spec);
  const up = await uploadRaw(server, 'docs', filename, await makePackage(spec), { token: key.json.secret });
  check('post', '/api/v1/upload/{channel}', up.status, up.json);
  const pkgs = await api(server, 'GET', '/api/v1/channels/docs/packages');
  check('get', '/api/v1/channels/{name}/packages', pkgs.status, pkgs.json);
  const one = await api(server, 'GET', `/api/v1/channels/docs/packages/linux-64/${filename}`);
  check('get', '/api/v1/channels/{name}/packages/{subdir}/{file}', one.status, one.json);
  const channel = await api(server, 'GET', '/api/v1/channels/docs');
  check('get', '/api/v1/channels/{name}', channel.status, channel.json);

  const pub = await api(server, 'POST', '/api/v1/channels/docs/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
  check('post', '/api/v1/channels/{name}/publishers', pub.status, pub.json);
  const pubs = await api(server, 'GET', '/api/v1/channels/docs/publishers');
  check('get', '/api/v1/channels/{name}/publishers', pubs.status, pubs.json);
  const unpub = await api(server, 'DELETE', `/api/v1/channels/docs/publishers/${pub.json.id}`);
  check('delete', '/api/v1/channels/{name}/publishers/{id}', unpub.status, unpub.json);

  const entry = await api(server, 'GET', `/api/v1/log/entries/${up.json.receipt.log_index}`);
  check('get', '/api/v1/log/entries/{index}', entry.status, entry.json);
  const proof = await api(server, 'GET', `/api/v1/log/proof/consistency?old=1&new=${up.json.receipt.log_index + 1}`);
  check('get', '/api/v1/log/proof/consistency', proof.status, proof.json);
  const badProof = await api(server, 'GET', '/api/v1/log/proof/consistency?old=x&new=1');
  check('get', '/api/v1/log/proof/consistency', badProof.status, badProof.json);
  const audience = await api(server, 'GET', '/api/oidc/audience', undefined, null);
  check('get', '/api/oidc/audience', audience.status, audience.json);
  const noAttestation = await api(server, 'GET', `/api/v1/channels/docs/packages/linux-64/${filename}/attestations`);
  check('get', '/api/v1/channels/{name}/packages/{subdir}/{file}/attestations', noAttestation.status, noAttestation.json);

  const removed = await api(server, 'DELETE', `/api/v1/channels/docs/packages/linux-64/${filename}`);
  check('delete', '/api/v1/channels/{name}/packages/{subdir}/{file}', removed.status, removed.json);
  const revoked = await api(server, 'DELETE', `/api/v1/keys/${key.json.id}`);
  check('delete', '/api/v1/keys/{id}', revoked.status, revoked.json);
  const unauth = await api(server, 'DELETE', '/api/v1/channels/docs', undefined, 'not-a-token');
  check('delete', '/api/v1/channels/{name}', unauth.status, unauth.json);
});

test('route schemas document only: input the core refuses keeps its own code and status', async () => {
  // a schema-validating Fastify would answer these with its own 400 before the core sees them
  const bad = await api(server, 'POST', '/api/v1/channels', { name: 42 });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error, 'invalid_channel_name');
  const scope = await api(server, 'POST', '/api/v1/keys', { channel: 'nope', scope: 'root' });
  assert.ok(scope.status >= 400 && scope.status < 500);
  assert.notEqual(scope.json.error, 'fst_err_validation');
  assert.equal(typeof scope.json.detail, 'string');
});

/**
 * The schema with `additionalProperties: false` wherever it lists properties and does not say otherwise:
 * a field the server answers but the document does not describe fails the check.
 */
function closed(schema: any): any {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/** Every route the server registers under /api, by method, collected from Fastify itself. */
async function registeredApiRoutes(): Promise<{ method: string; url: string }[]> {
  const { store, dir } = await tempSqliteStore();
  const routes: { method: string; url: string }[] = [];
  const app = createApp({
    store,
    blobs: new FsBlobStore(path.join(dir, 'blobs')),
    spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), 'provena-spool-')),
    adminToken: ADMIN_TOKEN,
    publicUrl: 'http://127.0.0.1:8000',
    maxPackageBytes: 1024 * 1024,
    log: { key: generateSignerKey('127.0.0.1/log'), origin: '127.0.0.1/log' },
    trustRoots: [],
  });
  try {
    // routes added before this hook (at the root, synchronously) are in printRoutes below
    app.http.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD' && r.url.startsWith('/api')) routes.push({ method: m, url: r.url });
    });
    await app.http.ready();
    for (const line of app.http.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /(\/api\S*) \(([A-Z, ]+)\)/.exec(line);
      if (!m) continue;
      for (const method of m[2]!.split(', ')) if (method !== 'HEAD') routes.push({ method, url: m[1]! });
    }
  } finally {
    await app.http.close();
    await app.services.log.stop();
    await store.close();
  }
  const seen = new Map(routes.map((r) => [`${r.method} ${r.url}`, r]));
  return [...seen.values()];
}
