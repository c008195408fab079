import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { sha256Hex } from '../support/upload.ts';
import { openCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { noteVerifier } from '../../src/core/tlog/key-ring.ts';

/** A raw-body upload the test sends in pieces: `send` more bytes, `finish` to get the answer. */
function slowUpload(server: RunningServer, channel: string, filename: string, bytes: Buffer) {
  const url = new URL(`${server.url}/api/v1/upload/${channel}`);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/octet-stream',
      'content-length': bytes.length,
      'x-file-name': filename,
      'x-file-sha256': sha256Hex(bytes),
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined);
  req.flushHeaders();
  return {
    send: (chunk: Buffer) => new Promise<void>((resolve, reject) => req.write(chunk, (e) => (e ? reject(e) : resolve()))),
    finish: (chunk: Buffer) => {
      req.end(chunk);
      return answer;
    },
    answer,
  };
}

function exitOf(server: RunningServer): Promise<number | null> {
  return new Promise((resolve) => {
    if (server.process.exitCode !== null) return resolve(server.process.exitCode);
    server.process.once('exit', (code) => resolve(code));
  });
}

async function waitForOutput(server: RunningServer, text: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!server.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`the server never printed ${JSON.stringify(text)}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function spoolFiles(dataDir: string): Promise<string[]> {
  return fs.readdirSync(path.join(dataDir, 'tmp'));
}

describe('graceful shutdown', () => {
  it('SIGTERM mid-upload: the upload completes with 201, the process exits 0, and after restart the package and its log entry are there', async () => {
    const server = await startServer();
    const exited = exitOf(server);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'drain' })).status, 201);
    const spec = { name: 'drainpkg', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const, files: { 'share/big.bin': Buffer.alloc(256 * 1024, 7) } };
    const bytes = await makePackage(spec);
    const filename = packageFilename(spec);
    // an idle keep-alive connection must not hold the shutdown up
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get(`${server.url}/healthz`, { agent }, (res) => res.resume().on('end', () => resolve())));

    const upload = slowUpload(server, 'drain', filename, bytes);
    const half = Math.floor(bytes.length / 2);
    await upload.send(bytes.subarray(0, half));
    server.process.kill('SIGTERM');
    await waitForOutput(server, 'finishing in-flight requests');
    // no new connections are taken while draining
    await assert.rejects(fetch(`${server.url}/healthz`));
    await upload.send(bytes.subarray(half, half + 1024));
    const answer = await upload.finish(bytes.subarray(half + 1024));
    assert.equal(answer.status, 201, answer.body);
    const receipt = JSON.parse(answer.body).receipt;
    assert.equal(await exited, 0, server.output());
    assert.match(server.output(), /provena: stopped/);
    agent.destroy();

    const again = await startServer({ dataDir: server.dataDir });
    try {
      const listed = await api(again, 'GET', `/api/v1/channels/drain/packages?filename=${filename}`);
      assert.equal(listed.json.packages.length, 1);
      assert.equal(listed.json.packages[0].sha256, sha256Hex(bytes));
      // the served checkpoint verifies with the log key and covers the upload's entry
      const keyText = (await (await fetch(`${again.url}/log/key`)).text()).trim();
      const note = await (await fetch(`${again.url}/log/checkpoint`)).text();
      const { checkpoint } = openCheckpoint(note, [noteVerifier(keyText)], keyText.split('+')[0]!);
      assert.ok(checkpoint.size >= receipt.log_index + 1);
      // and the receipt the draining server gave verifies offline against the same key and file
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-drain-'));
      fs.writeFileSync(path.join(dir, 'receipt.json'), JSON.stringify(receipt));
      fs.writeFileSync(path.join(dir, filename), bytes);
      const verified = await provena(['log', 'verify-receipt', path.join(dir, 'receipt.json'), '--key', keyText, '--file', path.join(dir, filename)]);
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      assert.deepEqual(await spoolFiles(again.dataDir), []);
    } finally {
      await again.stop();
    }
  });

  it('shutdown_timeout bounds the wait: a stalled upload is cut off, the process exits 0, nothing is stored', async () => {
    const server = await startServer({ env: { PROVENA_SHUTDOWN_TIMEOUT_SECONDS: '1' } });
    const exited = exitOf(server);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'stall' })).status, 201);
    const spec = { name: 'stallpkg', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
    const bytes = await makePackage(spec);
    const upload = slowUpload(server, 'stall', packageFilename(spec), bytes);
    await upload.send(bytes.subarray(0, 100));
    server.process.kill('SIGTERM');
    await assert.rejects(upload.answer, 'the stalled upload gets no acknowledgement');
    assert.equal(await exited, 0, server.output());
    assert.match(server.output(), /shutdown_timeout \(1 s\) passed/);

    const again = await startServer({ dataDir: server.dataDir });
    try {
      const listed = await api(again, 'GET', '/api/v1/channels/stall/packages');
      assert.deepEqual(listed.json.packages, []);
      assert.deepEqual(await spoolFiles(again.dataDir), []);
    } finally {
      await again.stop();
    }
  });
});
