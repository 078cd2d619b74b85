#!/usr/bin/env node
'use strict';
// The official JS SDK's realtime API against kserver: live user events on %kserver/users,
// publish/subscribe with filters, user notifications, count, unsubscribe.
// Usage: node realtime.js [host] [port]. Prints every check; exits 1 on a failed check or a
// rejection, 3 if anything hangs past the global timeout.

const assert = require('node:assert/strict');
const { Kuzzle, WebSocket } = require('kuzzle-sdk');

const host = process.argv[2] || '127.0.0.1';
const port = Number(process.argv[3] || 7512);
const TIMEOUT_MS = Number(process.env.REALTIME_TIMEOUT_MS || 20000);

const timer = setTimeout(() => {
  console.log(`FAIL timeout: still running after ${TIMEOUT_MS} ms`);
  process.exit(3);
}, TIMEOUT_MS);
timer.unref();

let passed = 0;
let failed = 0;
async function check(label, fn) {
  try {
    await fn();
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${label}: ${err.message}`);
    return;
  }
  passed += 1;
  console.log(`ok   ${label}`);
}

// Notifications land in an inbox; next() waits for one, quiet() checks that none arrives.
function inbox() {
  const items = [];
  const waiters = [];
  return {
    push(n) {
      const waiter = waiters.shift();
      if (waiter) waiter(n);
      else items.push(n);
    },
    next(ms = 5000) {
      if (items.length) return Promise.resolve(items.shift());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no notification within ${ms} ms`)), ms);
        waiters.push((n) => { clearTimeout(t); resolve(n); });
      });
    },
    async quiet(ms = 300) {
      await new Promise((r) => setTimeout(r, ms));
      assert.equal(items.length, 0, `unexpected notification: ${JSON.stringify(items[0])}`);
    },
  };
}

async function main() {
  const watcher = new Kuzzle(new WebSocket(host, { port }));
  const writer = new Kuzzle(new WebSocket(host, { port }));
  await watcher.connect();
  await writer.connect();
  const tag = `sdk${Date.now()}`;

  const users = inbox();
  const roomId = await watcher.realtime.subscribe('%kserver', 'users', {}, (n) => users.push(n));
  const kuid = `${tag}-user`;
  // security:upsertUser has no SDK helper: a raw query, as an application would send it
  const upsert = (content) =>
    writer.query({ controller: 'security', action: 'upsertUser', _id: kuid, body: { content } });

  await check('upsertUser from another connection reaches the %kserver/users subscriber', async () => {
    await upsert({ profileIds: ['default'], team: tag });
    const n = await users.next();
    assert.equal(n.type, 'document');
    assert.equal(n.index, '%kserver');
    assert.equal(n.collection, 'users');
    assert.equal(n.action, 'create');
    assert.equal(n.result._id, kuid);
    assert.equal(n.result._source.team, tag);
    assert.equal(n.result.created, true);
  });

  await check('a second upsert is an update', async () => {
    await upsert({ profileIds: ['default'], team: `${tag}-2` });
    const n = await users.next();
    assert.equal(n.action, 'update');
    assert.equal(n.result.created, false);
  });

  await check('realtime.count sees the subscriber', async () => {
    assert.equal(await writer.realtime.count(roomId), 1);
  });

  await check('unsubscribe stops user events', async () => {
    await watcher.realtime.unsubscribe(roomId);
    await upsert({ profileIds: ['default'], team: `${tag}-3` });
    await users.quiet();
  });

  const messages = inbox();
  await check('publish reaches a filtered subscription, with the publisher volatile', async () => {
    await watcher.realtime.subscribe(tag, 'chat', { range: { level: { gte: 3 } } }, (n) => messages.push(n));
    await writer.realtime.publish(tag, 'chat', { level: 1 });
    await writer.realtime.publish(tag, 'chat', { level: 5 }, { volatile: { from: 'writer' } });
    const n = await messages.next();
    assert.equal(n.action, 'publish');
    assert.equal(n.result._source.level, 5);
    assert.equal(n.volatile.from, 'writer');
    await messages.quiet();
  });

  await check('subscribeToSelf: false drops our own publications', async () => {
    const own = inbox();
    await writer.realtime.subscribe(tag, 'self', {}, (n) => own.push(n), { subscribeToSelf: false });
    await writer.realtime.publish(tag, 'self', { mine: true });
    await own.quiet();
    await watcher.realtime.publish(tag, 'self', { mine: false });
    assert.equal((await own.next()).result._source.mine, false);
  });

  await check('users: "all" gets in/out user notifications', async () => {
    const presence = inbox();
    const room = await watcher.realtime.subscribe(tag, 'presence', {}, (n) => presence.push(n), { users: 'all' });
    await writer.realtime.subscribe(tag, 'presence', {}, () => {});
    const entered = await presence.next();
    assert.equal(entered.type, 'user');
    assert.equal(entered.user, 'in');
    assert.equal(entered.result.count, 2);
    await writer.realtime.unsubscribe(room);
    const left = await presence.next();
    assert.equal(left.user, 'out');
    assert.equal(left.result.count, 1);
  });

  watcher.disconnect();
  writer.disconnect();
}

main()
  .catch((err) => {
    failed += 1;
    console.log(`FAIL unexpected rejection: ${err.stack || err.message}`);
  })
  .finally(() => {
    console.log(`${passed} checks passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
