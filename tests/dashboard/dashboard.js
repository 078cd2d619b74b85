#!/usr/bin/env node
'use strict';
// Drive kserver's /_dashboard in headless Chromium: log in, set a filter, see a user upserted over
// HTTP (another connection) appear in the live feed, see the counters move, save a screenshot.
// Usage: node dashboard.js <base-url> <username> <password> <screenshot.png>
// Prints "ok <step>" lines and "DASHBOARD OK" at the end; exits 1 on any failure.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [base, username, password, screenshot] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function api(pathname, body, jwt) {
  const headers = { 'content-type': 'application/json' };
  if (jwt) headers.authorization = `Bearer ${jwt}`;
  const response = await fetch(`${base}${pathname}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await response.json();
  if (json.error) throw new Error(`${pathname}: ${json.error.id} ${json.error.message}`);
  return json.result;
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kserver-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 800 },
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${base}/_dashboard`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 10000 });
    console.log('ok login form shown');

    await page.fill('#username', username);
    await page.fill('#password', 'wrong password');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    console.log('ok a wrong password is refused');

    await page.fill('#password', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(
      (who) => document.getElementById('status').textContent === `connected as ${who}`, username);
    await page.waitForFunction(() => document.getElementById('feed-state').textContent.startsWith('subscribed'));
    console.log('ok logged in and subscribed');

    const tag = `dash${Date.now()}`;
    await page.fill('#filter', JSON.stringify({ equals: { team: tag } }));
    await page.click('#filter-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('feed-state').textContent.startsWith('subscribed'));
    console.log('ok filter applied');

    const { jwt } = await api('/_login/local', { username, password });
    await api(`/users/${tag}-other/_upsert`, { content: { profileIds: ['default'], team: 'other' } }, jwt);
    await api(`/users/${tag}-alice/_upsert`, { content: { profileIds: ['default'], team: tag, name: 'Alice' } }, jwt);
    await page.waitForSelector(`#feed tr[data-id="${tag}-alice"]`, { timeout: 5000 });
    const row = await page.textContent(`#feed tr[data-id="${tag}-alice"]`);
    if (!row.includes('create') || !row.includes('Alice')) throw new Error(`unexpected row: ${row}`);
    if (await page.$(`#feed tr[data-id="${tag}-other"]`)) throw new Error('a non-matching user was shown');
    console.log('ok the upserted user appears live, the non-matching one does not');

    await api(`/users/${tag}-alice/_upsert`, { content: { profileIds: ['default'], team: tag, name: 'Alice B.' } }, jwt);
    await page.waitForFunction(
      (id) => document.querySelectorAll(`#feed tr[data-id="${id}"]`).length === 2, `${tag}-alice`);
    const latest = await page.textContent('#feed tr:first-child');
    if (!latest.includes('update')) throw new Error(`expected an update row first: ${latest}`);
    console.log('ok an update shows as a new row');

    await page.waitForFunction(() => {
      const created = Number(document.getElementById('m-created').textContent);
      const rps = document.getElementById('m-rps').textContent;
      return created >= 2 && rps !== '–';
    }, null, { timeout: 5000 });
    console.log('ok counters show metrics');

    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`ok screenshot ${screenshot}`);
    console.log('DASHBOARD OK');
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.log(`FAIL ${error.stack || error.message}`);
  process.exit(1);
});
