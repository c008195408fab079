// A replica starting on a shared blob directory removes only temporaries old enough to be a crash's
// leftovers, not the in-flight writes of the replicas still running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';

function dirWithTemporaries(): { root: string; fresh: string; old: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-shared-blobs-'));
  fs.mkdirSync(path.join(root, 'pkgs/sha256/ab'), { recursive: true });
  const fresh = path.join(root, 'pkgs/sha256/ab/.tmp-fresh');
  const old = path.join(root, 'pkgs/sha256/ab/.tmp-old');
  fs.writeFileSync(fresh, 'another replica is writing this');
  fs.writeFileSync(old, 'left by a crash');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
  return { root, fresh, old };
}

test('with a grace period only old temporaries go; without one (a private directory) all go', async () => {
  const shared = dirWithTemporaries();
  assert.equal(await new FsBlobStore(shared.root, { temporariesGraceMs: 3600_000 }).removeStaleTemporaries(), 1);
  assert.ok(fs.existsSync(shared.fresh), 'the in-flight write of another replica stays');
  assert.ok(!fs.existsSync(shared.old));

  const own = dirWithTemporaries();
  assert.equal(await new FsBlobStore(own.root).removeStaleTemporaries(), 2);
  assert.ok(!fs.existsSync(own.fresh) && !fs.existsSync(own.old));
});
