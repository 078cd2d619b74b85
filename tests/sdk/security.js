#!/usr/bin/env node
'use strict';
// The security and auth controllers through the official JS SDK (kuzzle-sdk v7), over one protocol.
// Usage: node security.js <host> <port> <websocket|http> <first-admin: yes|no>
// First admin, login, a role/profile round trip, a user's lifecycle with credentials, rights
// enforcement for that user, logout. Prints every check; exits 1 on a failure, 3 on a hang.

const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const [host, portText, protocolName, firstAdmin] = process.argv.slice(2);
const port = Number(portText);
const tag = protocolName === 'http' ? 'h' : 'w';
const ADMIN = { username: 'sdk-admin', password: 'sdk-admin-password' };

const timer = setTimeout(() => {
  console.log('FAIL timeout: a call never settled');
  process.exit(3);
}, 30000);
timer.unref();

let passed = 0;
let failed = 0;
async function check(label, fn) {
  try {
    await fn();
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${protocolName} ${label}: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`);
    return;
  }
  passed += 1;
  console.log(`ok   ${protocolName} ${label}`);
}

function connect() {
  const protocol = protocolName === 'http' ? new Http(host, { port }) : new WebSocket(host, { port });
  return new Kuzzle(protocol);
}

async function rejects(promise, status, id) {
  let error = null;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error && error.constructor.name === 'KuzzleError', `expected a KuzzleError, got ${error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.id, id, error.message);
}

async function main() {
  const kuzzle = connect();
  await kuzzle.connect();
  const userId = `sdk-user-${tag}`;
  const roleId = `sdk-role-${tag}`;
  const profileId = `sdk-profile-${tag}`;
  const user = { username: `sdk-${tag}`, password: `sdk-${tag}-password-1` };

  if (firstAdmin === 'yes') {
    await check('security.createFirstAdmin with reset', async () => {
      const admin = await kuzzle.security.createFirstAdmin(
        'sdk-admin-kuid',
        { content: { name: 'Admin' }, credentials: { local: ADMIN } },
        { reset: true },
      );
      assert.equal(admin._id, 'sdk-admin-kuid');
      assert.deepEqual(admin.profileIds, ['admin']);
    });
    await check('anonymous is now refused security.getUser (401)', async () => {
      await rejects(kuzzle.security.getUser('sdk-admin-kuid'), 401, 'security.rights.unauthorized');
    });
  }

  await check('auth.login then checkToken and getCurrentUser', async () => {
    const jwt = await kuzzle.auth.login('local', ADMIN);
    assert.equal(typeof jwt, 'string');
    const state = await kuzzle.auth.checkToken(jwt);
    assert.equal(state.valid, true);
    const me = await kuzzle.auth.getCurrentUser();
    assert.equal(me._id, 'sdk-admin-kuid');
  });

  await check('role and profile round trip', async () => {
    const role = await kuzzle.security.createRole(roleId, {
      controllers: { server: { actions: { now: true } }, auth: { actions: { '*': true } } },
    });
    assert.equal(role._id, roleId);
    const fetched = await kuzzle.security.getRole(roleId);
    assert.deepEqual(fetched.controllers.server, { actions: { now: true } });
    const profile = await kuzzle.security.createProfile(profileId, { policies: [{ roleId }] });
    assert.equal(profile._id, profileId);
    const again = await kuzzle.security.getProfile(profileId);
    assert.deepEqual(again.policies.map((p) => p.roleId), [roleId]);
  });

  await check('user lifecycle: create with credentials, get, update, search', async () => {
    const created = await kuzzle.security.createUser(userId, {
      content: { profileIds: [profileId], name: 'Ada' },
      credentials: { local: user },
    });
    assert.equal(created._id, userId);
    assert.equal((await kuzzle.security.getUser(userId)).content.name, 'Ada');
    await kuzzle.security.updateUser(userId, { name: 'Ada L.' });
    assert.equal((await kuzzle.security.getUser(userId)).content.name, 'Ada L.');
    const found = await kuzzle.security.searchUsers({ query: { term: { name: 'Ada L.' } } });
    assert.equal(found.total, 1);
    assert.equal(found.hits[0]._id, userId);
    assert.deepEqual(await kuzzle.security.getUserStrategies(userId), ['local']);
  });

  await check('upsertUser (kserver) through kuzzle.query: update, then create', async () => {
    const updated = await kuzzle.query({
      controller: 'security', action: 'upsertUser', _id: userId,
      body: { content: { profileIds: [profileId], team: 'blue' } },
    });
    assert.equal(updated.result.created, false);
    assert.equal(updated.result._source.name, 'Ada L.');
    const created = await kuzzle.query({
      controller: 'security', action: 'upsertUser', _id: `${userId}-2`,
      body: { content: { profileIds: [profileId] }, default: { team: 'red' } },
    });
    assert.equal(created.result.created, true);
    assert.equal(created.result._source.team, 'red');
  });

  await check('credentials: has, get, validate, update', async () => {
    assert.equal(await kuzzle.security.hasCredentials('local', userId), true);
    const info = await kuzzle.security.getCredentials('local', userId);
    assert.deepEqual(info, { username: user.username, kuid: userId });
    assert.equal(await kuzzle.security.validateCredentials('local', userId, user), true);
    user.password = `${user.password}-changed`;
    await kuzzle.security.updateCredentials('local', userId, { password: user.password });
    assert.deepEqual(await kuzzle.security.getCredentialFields('local'), ['username', 'password']);
  });

  await check('the limited user may run server:now, not security:getUser (403)', async () => {
    const limited = connect();
    await limited.connect();
    try {
      await limited.auth.login('local', user);
      assert.ok(Number.isSafeInteger(await limited.server.now()));
      await rejects(limited.security.getUser(userId), 403, 'security.rights.forbidden');
      await limited.auth.logout();
    } finally {
      limited.disconnect();
    }
  });

  await check('delete user, profile, role', async () => {
    await kuzzle.security.deleteUser(userId);
    await kuzzle.security.deleteUser(`${userId}-2`);
    await rejects(kuzzle.security.getUser(userId), 404, 'security.user.not_found');
    await kuzzle.security.deleteProfile(profileId);
    await kuzzle.security.deleteRole(roleId);
    await rejects(kuzzle.security.getRole(roleId), 404, 'security.role.not_found');
  });

  await check('logout invalidates the token', async () => {
    const jwt = kuzzle.jwt;
    await kuzzle.auth.logout();
    const state = await kuzzle.auth.checkToken(jwt);
    assert.equal(state.valid, false);
  });

  kuzzle.disconnect();
  console.log(`${passed} checks passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.log(`FAIL ${protocolName} unexpected: ${err && err.stack}`);
  process.exit(1);
});
