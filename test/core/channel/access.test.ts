import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessControl } from '../../../src/core/channel/access.ts';
import { KeyService } from '../../../src/core/channel/keys.ts';
import { ProvenaError } from '../../../src/core/errors.ts';
import { tempSqliteStore } from '../../support/sqlite-store.ts';

const ADMIN = 'admin-token-for-access-tests-0123';

describe('access control', () => {
  it('accepts a key until its expiry and refuses it from then on', async () => {
    const { store } = await tempSqliteStore();
    let now = new Date('2026-01-01T00:00:00Z');
    const clock = { now: () => now };
    const access = new AccessControl(store, ADMIN, clock);
    await store.channels.create({ name: 'c', private: true, requireAttestations: false, createdAt: now.toISOString() });
    const { secret } = await new KeyService(store, access, clock).create({ kind: 'admin' }, { channel: 'c', scope: 'read', expires_days: 2 });
    assert.equal((await access.authenticate(secret)).kind, 'key');
    now = new Date('2026-01-02T23:59:59Z');
    assert.equal((await access.authenticate(secret)).kind, 'key');
    now = new Date('2026-01-03T00:00:00Z');
    await assert.rejects(access.authenticate(secret), (e: ProvenaError) => e.code === 'token_expired' && e.kind === 'unauthenticated');
    await store.close();
  });

  it('orders scopes read < upload < admin and confines a key to its channel', async () => {
    const { store } = await tempSqliteStore();
    const clock = { now: () => new Date() };
    const access = new AccessControl(store, ADMIN, clock);
    const pub = { name: 'pub', private: false, requireAttestations: false, createdAt: '' };
    const priv = { name: 'priv', private: true, requireAttestations: false, createdAt: '' };
    const key = (channel: string, scope: 'read' | 'upload' | 'admin') => ({
      kind: 'key' as const,
      key: { id: 'k', channel, scope, description: null, createdAt: '', expiresAt: null, revokedAt: null },
    });
    assert.equal(access.allows(key('priv', 'read'), priv, 'read'), true);
    assert.equal(access.allows(key('priv', 'read'), priv, 'upload'), false);
    assert.equal(access.allows(key('priv', 'upload'), priv, 'upload'), true);
    assert.equal(access.allows(key('priv', 'upload'), priv, 'admin'), false);
    assert.equal(access.allows(key('priv', 'admin'), priv, 'admin'), true);
    assert.equal(access.allows(key('pub', 'admin'), priv, 'read'), false, 'another channel\'s key reads no private channel');
    assert.equal(access.allows(key('priv', 'admin'), pub, 'read'), true, 'anyone reads a public channel');
    assert.equal(access.allows(key('priv', 'admin'), pub, 'upload'), false);
    assert.equal(access.allows({ kind: 'anonymous' }, pub, 'read'), true);
    assert.equal(access.allows({ kind: 'anonymous' }, priv, 'read'), false);
    assert.equal(access.allows({ kind: 'admin' }, priv, 'admin'), true);
    await assert.rejects(access.authenticate('pvn_unknown'), (e: ProvenaError) => e.code === 'unknown_token');
    assert.equal((await access.authenticate(ADMIN)).kind, 'admin');
    assert.equal((await access.authenticate(undefined)).kind, 'anonymous');
    await store.close();
  });
});
