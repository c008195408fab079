import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings, SettingsError } from '../../../src/adapters/config/settings.ts';
import { api, startServer } from '../../support/server.ts';

describe('settings', () => {
  it('layers defaults < config file < PROVENA_* env < flags', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-settings-'));
    const file = path.join(dir, 'provena.toml');
    fs.writeFileSync(file, 'port = 9000\nhost = "0.0.0.0"\nmax_package_size = 1000\n');
    const fromFile = loadSettings({ config: file }, {});
    assert.deepEqual([fromFile.port, fromFile.host, fromFile.max_package_size, fromFile.data], [9000, '0.0.0.0', 1000, './provena-data']);
    assert.equal(fromFile.public_url, 'http://127.0.0.1:9000');
    assert.equal(fromFile.public_url_given, false);
    const withEnv = loadSettings({ config: file }, { PROVENA_PORT: '9100', PROVENA_TRUSTED_ROOT: 'public-good, staging' });
    assert.equal(withEnv.port, 9100);
    assert.deepEqual(withEnv.trusted_root, ['public-good', 'staging']);
    const withFlags = loadSettings({ config: file, port: '9200', public_url: 'https://conda.example.org/', trusted_root: ['x.json'] }, { PROVENA_PORT: '9100' });
    assert.equal(withFlags.port, 9200);
    assert.equal(withFlags.public_url, 'https://conda.example.org');
    assert.equal(withFlags.public_url_given, true);
    assert.deepEqual(withFlags.trusted_root, ['x.json']);
    const json = path.join(dir, 'provena.json');
    fs.writeFileSync(json, JSON.stringify({ port: 9300 }));
    assert.equal(loadSettings({}, { PROVENA_CONFIG: json }).port, 9300);
  });

  it('refuses bad values with one line naming the setting, its flag and its variable', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ port: 'eighty' }, /^setting port: .*--port.*PROVENA_PORT/],
      [{ public_url: 'ftp://x' }, /^setting public_url/],
      [{ admin_token: 'short' }, /^setting admin_token: must be at least 16 characters/],
      [{ config: '/nonexistent/provena.toml' }, /cannot read config file/],
    ];
    for (const [flags, message] of bad) {
      assert.throws(() => loadSettings(flags, {}), (e: Error) => e instanceof SettingsError && message.test(e.message), JSON.stringify(flags));
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-settings-'));
    const unknown = path.join(dir, 'p.toml');
    fs.writeFileSync(unknown, 'prot = 1\n');
    assert.throws(() => loadSettings({ config: unknown }, {}), SettingsError);
  });

  it('keeps a configured public URL when listening on a random port', async () => {
    const server = await startServer({ args: ['--public-url', 'https://conda.example.org'] });
    try {
      await api(server, 'POST', '/api/v1/channels', { name: 'pu' });
      const channel = await api(server, 'GET', '/api/v1/channels/pu');
      assert.equal(channel.json.url, 'https://conda.example.org/pu');
    } finally {
      await server.stop();
    }
  });
});
