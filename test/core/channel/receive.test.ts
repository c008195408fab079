/**
 * Spooling an upload body: a body that fails before the spool file is even open leaves no file
 * behind (the file stream opens asynchronously, so it must be closed before the file is removed).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { receiveToSpool } from '../../../src/core/channel/receive.ts';

describe('receiveToSpool', () => {
  it('leaves no spool file when the body fails at once, before the file is open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-receive-'));
    try {
      for (let i = 0; i < 20; i++) {
        const body = new PassThrough();
        const receiving = receiveToSpool(body, { path: () => path.join(dir, `upload-${i}`) }, 1 << 20);
        body.destroy(new Error('the multipart body ended before its closing boundary'));
        await assert.rejects(receiving, /upload_interrupted|ended before/);
      }
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the file of a complete body, with its digests and size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-receive-'));
    try {
      const body = new PassThrough();
      const receiving = receiveToSpool(body, { path: () => path.join(dir, 'upload') }, 1 << 20);
      body.end(Buffer.from('abc'));
      const spooled = await receiving;
      assert.equal(spooled.size, 3);
      assert.equal(spooled.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      assert.equal(fs.readFileSync(spooled.path, 'utf8'), 'abc');
      await spooled.discard();
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
