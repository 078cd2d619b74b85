#!/usr/bin/env node
'use strict';
// Smoke test of a Kuzzle-compatible server with the official JS SDK (kuzzle-sdk v7), over
// WebSocket then HTTP. Usage: node smoke.js [host] [port]. Prints every check; exits 1 if any
// check failed or a call was rejected, 3 if anything hangs past the global timeout.

const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');
const sdkVersion = require('kuzzle-sdk/package.json').version;

const host = process.argv[2] || '127.0.0.1';
const port = Number(process.argv[3] || 7512);
const TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS || 20000);

const timer = setTimeout(() => {
  console.log(`FAIL timeout: still running after ${TIMEOUT_MS} ms (a request never settled?)`);
  process.exit(3);
}, TIMEOUT_MS);
timer.unref();

let passed = 0;
let failed = 0;
function check(label, fn) {
  try {
    fn();
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${label}: ${err.message}`);
    return;
  }
  passed += 1;
  console.log(`ok   ${label}`);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function assertKeys(object, expected, what) {
  assert.ok(isObject(object), `${what} is not an object`);
  const keys = Object.keys(object);
  const missing = expected.filter((k) => !keys.includes(k));
  const extra = keys.filter((k) => !expected.includes(k));
  assert.ok(missing.length === 0 && extra.length === 0, `${what}: missing [${missing}], unexpected [${extra}]`);
}
const HTTP_VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function checkNow(tag, now) {
  check(`${tag} server.now() is an integer ms epoch within 60 s of ours`, () => {
    assert.ok(Number.isSafeInteger(now), `got ${JSON.stringify(now)}`);
    assert.ok(Math.abs(now - Date.now()) < 60000, `off by ${now - Date.now()} ms`);
  });
}

// kuzzle: lib/api/controllers/serverController.js _buildApiDefinition
function checkRoutes(tag, routes) {
  check(`${tag} api routes: {controller: {action: {action, controller, http?: [{path, url, verb}]}}}`, () => {
    assert.ok(isObject(routes), 'routes is not an object');
    for (const [controller, actions] of Object.entries(routes)) {
      assert.ok(isObject(actions), `${controller} is not an object`);
      for (const [action, def] of Object.entries(actions)) {
        const where = `${controller}:${action}`;
        assert.equal(def.controller, controller, `${where}.controller`);
        assert.equal(def.action, action, `${where}.action`);
        for (const key of Object.keys(def)) {
          assert.ok(['action', 'controller', 'http'].includes(key), `${where} has unexpected key ${key}`);
        }
        if ('http' in def) {
          assert.ok(Array.isArray(def.http) && def.http.length > 0, `${where}.http is not a non-empty array`);
          for (const route of def.http) {
            assertKeys(route, ['path', 'url', 'verb'], `${where} route`);
            assert.ok(HTTP_VERBS.includes(route.verb), `${where} verb ${route.verb}`);
            assert.ok(route.path.startsWith('/'), `${where} path ${route.path}`);
            assert.equal(route.url, route.path, `${where} url !== path`);
          }
        }
      }
    }
  });
  check(`${tag} api routes hold server:now GET /_now, server:info GET /, server:publicApi, auth:checkToken`, () => {
    assert.deepEqual(routes.server.now.http, [{ path: '/_now', url: '/_now', verb: 'GET' }]);
    assert.ok(routes.server.info.http.some((r) => r.verb === 'GET' && r.url === '/'), 'no GET / for info');
    assert.ok(routes.server.publicApi.http.some((r) => r.verb === 'GET' && r.url === '/_publicApi'));
    assert.ok(routes.auth.checkToken.http.some((r) => r.verb === 'POST' && r.url === '/_checkToken'));
  });
}

// kuzzle: lib/api/controllers/serverController.js info()
function checkInfo(tag, info) {
  check(`${tag} server.info() is {serverInfo: {kuzzle, services}}`, () => {
    assertKeys(info, ['serverInfo'], 'result');
    assertKeys(info.serverInfo, ['kuzzle', 'services'], 'serverInfo');
  });
  const k = info.serverInfo.kuzzle;
  check(`${tag} serverInfo.kuzzle has exactly Kuzzle's keys`, () => {
    const expected = ['api', 'application', 'memoryUsed', 'nodeVersion', 'plugins', 'system', 'uptime', 'version'];
    assertKeys(k, expected, 'serverInfo.kuzzle');
    assertKeys(k.api, ['routes'], 'serverInfo.kuzzle.api');
  });
  check(`${tag} serverInfo.kuzzle field types (version 2.x, uptime "<s>s", memory numbers)`, () => {
    assert.match(k.version, /^2\.\d+\.\d+/);
    assert.match(k.uptime, /^\d+(\.\d+)?s$/);
    assert.ok(Number.isFinite(k.memoryUsed) && k.memoryUsed > 0, `memoryUsed ${k.memoryUsed}`);
    assert.equal(typeof k.nodeVersion, 'string');
    assert.ok(isObject(k.application), 'application');
    assert.ok(isObject(k.plugins), 'plugins');
    assertKeys(k.system, ['cpus', 'memory'], 'system');
    assert.ok(Array.isArray(k.system.cpus), `system.cpus is os.cpus() (an array) in Kuzzle, got ${JSON.stringify(k.system.cpus)}`);
    assert.ok(Number.isFinite(k.system.memory.free) && Number.isFinite(k.system.memory.total), 'memory');
  });
  check(`${tag} serverInfo.services has internalCache, internalStorage, memoryStorage, publicStorage`, () => {
    const s = info.serverInfo.services;
    assertKeys(s, ['internalCache', 'internalStorage', 'memoryStorage', 'publicStorage'], 'services');
    for (const [name, value] of Object.entries(s)) assert.ok(isObject(value), `${name} is not an object`);
  });
  checkRoutes(tag, k.api.routes);
}

// kuzzle: requestResponse.ts toJSON + room on WS only; no _id, index or collection when not sent
function checkEnvelope(tag, response, { ws, requestId, volatile }) {
  const keys = ['action', 'controller', 'error', 'headers', 'node', 'requestId', 'result', 'status', 'volatile'];
  check(`${tag} query() envelope keys are exactly ${ws ? 'those of Kuzzle WS (with room)' : 'those of Kuzzle HTTP (no room)'}`, () => {
    assertKeys(response, ws ? [...keys, 'room'] : keys, 'envelope');
  });
  check(`${tag} query() envelope values`, () => {
    assert.equal(response.status, 200);
    assert.equal(response.error, null);
    assert.equal(response.controller, 'server');
    assert.equal(response.action, 'now');
    assertKeys(response.result, ['now'], 'result');
    assert.ok(Number.isSafeInteger(response.result.now), 'result.now');
    assert.ok(typeof response.node === 'string' && response.node.length > 0, 'node');
    assert.ok(isObject(response.headers), 'headers');
    assert.deepEqual(response.volatile, volatile, 'volatile is not echoed unchanged');
    if (ws) {
      assert.equal(response.requestId, requestId, 'requestId not echoed');
      assert.equal(response.room, requestId, 'room !== requestId');
    } else {
      // The SDK sends no requestId over HTTP: the server makes one (uuid v4 in Kuzzle).
      assert.match(response.requestId, UUID_V4, 'requestId is not a uuid v4');
    }
  });
}

async function run(tag, protocol, ws) {
  const kuzzle = new Kuzzle(protocol);
  kuzzle.on('networkError', (err) => console.error(`${tag} networkError: ${err.message}`));
  await kuzzle.connect();
  check(`${tag} connect() to ${host}:${port}`, () => assert.equal(kuzzle.connected, true));
  check(`${tag} sdkName is js@7.x (a v7 SDK)`, () => assert.match(kuzzle.sdkName, /^js@7\./));
  if (!ws) {
    // connect() built its routes from GET /_publicApi; the shortest (or GET) URL per action
    check(`${tag} routes built from GET /_publicApi`, () => {
      assert.deepEqual(protocol.routes.server.now, { path: '/_now', url: '/_now', verb: 'GET' });
      assert.equal(protocol.routes.server.info.url, '/');
      assert.equal(protocol.routes.auth.checkToken.verb, 'POST');
    });
  }

  checkNow(tag, await kuzzle.server.now());
  checkInfo(tag, await kuzzle.server.info());

  const requestId = `smoke-${tag}-${Date.now()}`;
  const response = await kuzzle.query({
    controller: 'server',
    action: 'now',
    requestId,
    volatile: { smoke: tag, nested: { n: 1 } },
  });
  checkEnvelope(tag, response, {
    ws,
    requestId,
    // the SDK's own name (its build may say e.g. js@7.17.1-beta.1, not the package.json version)
    volatile: { smoke: tag, nested: { n: 1 }, sdkInstanceId: protocol.id, sdkName: kuzzle.sdkName },
  });
  kuzzle.disconnect();
}

async function main() {
  console.log(`kuzzle-sdk ${sdkVersion} against ${host}:${port}`);
  await run('ws', new WebSocket(host, { port }), true);
  await run('http', new Http(host, { port }), false);
  console.log(`${passed} checks passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.log(`FAIL ${err.constructor.name}: ${err.message}${err.id ? ` (${err.id})` : ''}`);
  process.exit(1);
});
