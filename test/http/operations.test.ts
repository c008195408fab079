import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startServer, type RunningServer } from '../support/server.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { uploadMultipart, uploadRaw } from '../support/upload.ts';
import { parseExposition } from './prometheus-text.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function scrape(server: RunningServer) {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** The server's JSON log lines (pino writes one object per line to stdout). */
function logLines(server: RunningServer): Record<string, any>[] {
  return server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('health, readiness, metrics and request ids', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--log-level', 'info'], env: { PROVENA_METRICS_TOKEN: METRICS_TOKEN } });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'ops' })).status, 201);
  });
  after(async () => {
    await server.stop();
  });

  it('answers /healthz and /readyz without credentials, naming each check', async () => {
    const health = await api(server, 'GET', '/healthz', undefined, null);
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const ready = await api(server, 'GET', '/readyz', undefined, null);
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
    assert.deepEqual(Object.keys(ready.json.checks).sort(), ['blobs', 'database', 'signing_key']);
    for (const check of Object.values(ready.json.checks)) assert.deepEqual(check, { ok: true });
    // the probe objects are removed again
    assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'blobs', 'health')), []);
  });

  it('guards /metrics with metrics_token: none or a wrong one is refused', async () => {
    const none = await fetch(`${server.url}/metrics`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as any).error, 'metrics_token_required');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN.replace(/.$/, 'x')}` } });
    assert.equal(wrong.status, 401);
    const admin = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    assert.equal(admin.status, 401, 'the admin token is not the metrics token');
    await scrape(server);
  });

  it('counts requests by route pattern, and uploads and attestations by outcome', async () => {
    const before = await scrape(server);
    for (let i = 0; i < 3; i++) assert.equal((await api(server, 'GET', '/api/v1/channels/ops')).status, 200);
    const probes = [`/probe-${randomBytes(6).toString('hex')}`, `/probe-${randomBytes(6).toString('hex')}/deeper`];
    for (const p of probes) assert.equal((await api(server, 'GET', p, undefined, null)).status, 404);

    const spec = { name: 'opspkg', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
    const bytes = await makePackage(spec);
    const accepted = await uploadRaw(server, 'ops', packageFilename(spec), bytes, { token: 'test-admin-token-0123456789abcdef' });
    assert.equal(accepted.status, 201);
    const spec2 = { ...spec, version: '2.0' };
    const mismatch = await uploadRaw(server, 'ops', packageFilename(spec2), await makePackage(spec2), {
      token: 'test-admin-token-0123456789abcdef',
      sha256: '0'.repeat(64),
    });
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.json.error, 'sha256_mismatch');
    const unauthorised = await uploadRaw(server, 'ops', packageFilename(spec2), bytes, { token: null });
    assert.equal(unauthorised.status, 401);
    const spec3 = { ...spec, version: '3.0' };
    const badAttestation = await uploadMultipart(server, 'ops', packageFilename(spec3), await makePackage(spec3), {
      token: 'test-admin-token-0123456789abcdef',
      attestation: '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
    });
    assert.equal(badAttestation.status, 422);

    const after = await scrape(server);
    const delta = (name: string, labels: Record<string, string> = {}) => after.sum(name, labels) - before.sum(name, labels);
    assert.equal(after.types.get('http_requests_total'), 'counter');
    assert.equal(after.types.get('http_request_duration_seconds'), 'histogram');
    assert.equal(delta('http_requests_total', { method: 'GET', route: '/api/v1/channels/:name', status: '200' }), 3);
    assert.equal(delta('http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/channels/:name' }), 3);
    assert.equal(delta('http_requests_total', { route: 'unmatched', status: '404' }), 2);
    assert.equal(delta('http_requests_total', { route: '/api/v1/upload/:channel', status: '201' }), 1);
    assert.equal(delta('http_requests_total', { route: '/api/v1/upload/:channel', status: '422' }), 2);
    for (const s of after.samples) {
      for (const p of probes) assert.ok(!Object.values(s.labels).some((v) => v.includes(p)), `raw URL ${p} used as a label`);
    }

    assert.equal(delta('provena_uploads_total', { outcome: 'accepted' }), 1);
    assert.equal(delta('provena_uploads_total', { outcome: 'refused', reason: 'sha256_mismatch' }), 1);
    assert.equal(delta('provena_uploads_total', { outcome: 'refused', reason: badAttestation.json.error }), 1);
    assert.equal(delta('provena_uploads_total', { outcome: 'refused' }), 3);
    assert.equal(delta('provena_attestation_verifications_total', { outcome: badAttestation.json.error }), 1);
    assert.equal(delta('provena_attestation_verification_seconds_count'), 1);
    assert.ok(delta('provena_repodata_generation_seconds_count') >= 1, 'the accepted upload regenerated repodata');

    // the receipt came from a signed checkpoint that covers the upload's entry
    assert.ok(after.sum('provena_log_size') >= accepted.json.receipt.log_index + 1, JSON.stringify(accepted.json.receipt).slice(0, 200));
    assert.ok(after.sum('provena_log_checkpoint_age_seconds') >= 0);
  });

  it('keeps a sane X-Request-Id, returns it, and puts it in every log line of the request', async () => {
    const id = `req-${randomBytes(6).toString('hex')}.trace:1`;
    const res = await fetch(`${server.url}/api/v1/channels/ops`, { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id);
    const url = `/probe-${randomBytes(6).toString('hex')}`;
    const missing = await fetch(server.url + url, { headers: { 'x-request-id': `${id}-404` } });
    assert.equal(missing.status, 404);
    await new Promise((r) => setTimeout(r, 200)); // let the log lines reach the pipe
    const lines = logLines(server).filter((l) => l.request_id === id);
    assert.ok(lines.length >= 2, `expected the request's log lines, got ${JSON.stringify(lines)}`);
    assert.ok(lines.some((l) => l.msg === 'incoming request') && lines.some((l) => l.msg === 'request completed'));
    // every line about that URL carries the other request's id
    const about404 = logLines(server).filter((l) => l.req?.url === url);
    assert.ok(about404.length >= 1);
    for (const l of about404) assert.equal(l.request_id, `${id}-404`);
  });

  it('replaces an X-Request-Id that is not a plain token, and gives each request its own', async () => {
    const forged = 'x\r\n{"level":60}'.replace(/[\r\n]/g, ' ');
    for (const bad of [forged, 'a'.repeat(129), 'has space', '']) {
      const res = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': bad } });
      assert.equal(res.status, 200);
      const given = res.headers.get('x-request-id') ?? '';
      assert.match(given, UUID, `for ${JSON.stringify(bad)}`);
    }
    const a = (await fetch(`${server.url}/healthz`)).headers.get('x-request-id');
    const b = (await fetch(`${server.url}/healthz`)).headers.get('x-request-id');
    assert.match(a ?? '', UUID);
    assert.notEqual(a, b);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!server.output().includes('has space'), 'the refused id never reaches the log');
  });

  it("keeps the read key of conda's /t/TOKEN/ URLs out of the log", async () => {
    const secret = `pvn_${randomBytes(12).toString('hex')}`;
    await fetch(`${server.url}/t/${secret}/ops/noarch/repodata.json`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(logLines(server).some((l) => l.req?.url === '/t/REDACTED/ops/noarch/repodata.json'));
    assert.ok(!server.output().includes(secret));
  });
});

describe('/readyz when the blob store cannot be written', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  it('answers 503 naming the blob store, and recovers when it is back', async () => {
    const blobs = path.join(server.dataDir, 'blobs');
    fs.renameSync(blobs, `${blobs}.away`);
    fs.writeFileSync(blobs, 'not a directory');
    try {
      const res = await api(server, 'GET', '/readyz', undefined, null);
      assert.equal(res.status, 503);
      assert.equal(res.json.error, 'not_ready');
      assert.equal(res.json.checks.blobs.ok, false);
      assert.equal(res.json.checks.database.ok, true);
      assert.equal(res.json.checks.signing_key.ok, true);
      assert.match(res.json.detail, /^blobs: /);
      assert.ok(!res.json.detail.includes(server.dataDir), 'no server paths in a public answer');
      assert.equal((await api(server, 'GET', '/healthz', undefined, null)).status, 200, 'the process itself is up');
    } finally {
      fs.rmSync(blobs);
      fs.renameSync(`${blobs}.away`, blobs);
    }
    assert.equal((await api(server, 'GET', '/readyz', undefined, null)).status, 200);
  });
});
