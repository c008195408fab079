import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, api, PACKAGES_DIR, startServer, type RunningServer } from '../support/server.ts';
import { uploadRaw } from '../support/upload.ts';

const PYTHON = '/usr/bin/python3';
const hasStreaming = fs.existsSync('/usr/lib/python3/dist-packages/conda_package_streaming/url.py');

/**
 * Debian's python3-conda-package-streaming reads a remote .conda's metadata through HTTP Range
 * requests (a `bytes=-10240` tail first) and needs 206 answers: the real client, unmodified.
 */
describe('conda-package-streaming reads metadata of a served .conda by Range requests', { skip: !hasStreaming && 'python3-conda-package-streaming is not installed (.ci/run installs it)' }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    await api(server, 'POST', '/api/v1/channels', { name: 'stream' });
    for (const f of ['zlib-1.2.11-h7b6447c_3.conda', 'ripgrep-completions-14.1.1-hb0f4dca_1.conda']) {
      const res = await uploadRaw(server, 'stream', f, fs.readFileSync(path.join(PACKAGES_DIR, f)), { token: ADMIN_TOKEN });
      assert.equal(res.status, 201);
    }
  });
  after(async () => {
    await server.stop();
  });

  for (const [subdir, file, name] of [
    ['linux-64', 'zlib-1.2.11-h7b6447c_3.conda', 'zlib'],
    ['linux-64', 'ripgrep-completions-14.1.1-hb0f4dca_1.conda', 'ripgrep-completions'],
  ]) {
    it(`reads info/index.json of ${file}`, async () => {
      const script = [
        'import json, sys',
        'from conda_package_streaming.url import stream_conda_info',
        'for tar, member in stream_conda_info(sys.argv[1]):',
        '    if member.name == "info/index.json":',
        '        print(json.dumps(json.load(tar.extractfile(member))))',
        '        break',
      ].join('\n');
      const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, `${server.url}/stream/${subdir}/${file}`], { timeout: 60_000 });
      const index = JSON.parse(stdout.trim());
      assert.equal(index.name, name);
      assert.equal(index.subdir, subdir);
    });
  }
});
