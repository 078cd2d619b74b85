'use strict';
// kserver dashboard: plain WebSocket frames of the Kuzzle protocol (no SDK).
// Log in (auth:login, strategy local), poll server:metrics every second, and follow
// %kserver/users with a Koncorde filter (realtime:subscribe). All data goes through textContent.
(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_ROWS = 200;
  const pending = new Map();
  let ws = null;
  let jwt = null;
  let seq = 0;
  let channel = null;
  let roomId = null;
  let previous = null;
  let poller = null;

  function setStatus(text, kind) {
    const el = $('status');
    el.textContent = text;
    el.className = `status ${kind || ''}`;
  }

  function query(frame) {
    const requestId = `dash-${Date.now()}-${++seq}`;
    const full = { ...frame, requestId };
    if (jwt && frame.controller !== 'auth') full.jwt = jwt;
    if (jwt && frame.controller === 'auth' && frame.action !== 'login') full.jwt = jwt;
    return new Promise((resolve, reject) => {
      pending.set(requestId, { resolve, reject });
      ws.send(JSON.stringify(full));
    });
  }

  function onMessage(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (msg.node) $('node').textContent = msg.node;
    if (msg.type === 'TokenExpired') { logout('session expired'); return; }
    if (msg.room && pending.has(msg.room)) {
      const { resolve, reject } = pending.get(msg.room);
      pending.delete(msg.room);
      if (msg.error) reject(msg.error); else resolve(msg.result);
      return;
    }
    if (msg.type === 'document' && msg.room === channel) addRow(msg);
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/`);
    ws.onmessage = onMessage;
    ws.onopen = () => { setStatus('connected', 'ok'); showLogin(); };
    ws.onclose = () => {
      setStatus('disconnected, retrying…', 'bad');
      stop();
      for (const { reject } of pending.values()) reject({ message: 'disconnected' });
      pending.clear();
      setTimeout(connect, 1000);
    };
  }

  function showLogin() {
    $('login').hidden = false;
    $('main').hidden = true;
  }

  async function start(who) {
    $('login').hidden = true;
    $('main').hidden = false;
    setStatus(who ? `connected as ${who}` : 'connected (anonymous)', 'ok');
    poll();
    poller = setInterval(poll, 1000);
    await applyFilter();
  }

  function stop() {
    if (poller) clearInterval(poller);
    poller = null;
    channel = null;
    roomId = null;
    previous = null;
  }

  function logout(reason) {
    jwt = null;
    stop();
    showLogin();
    $('login-error').textContent = reason || '';
  }

  async function poll() {
    try {
      const m = await query({ controller: 'server', action: 'metrics' });
      const conns = m.network.connections;
      $('m-connections').textContent = Object.values(conns).reduce((a, b) => a + b, 0);
      $('m-created').textContent = m.users.created;
      $('m-updated').textContent = m.users.updated;
      $('m-rooms').textContent = m.realtime.rooms;
      if (previous) {
        const seconds = Math.max((m.timestamp - previous.timestamp) / 1000, 0.001);
        $('m-rps').textContent = Math.round((m.requests - previous.requests) / seconds);
        $('m-ups').textContent = Math.round((m.users.upserts - previous.users.upserts) / seconds);
      }
      previous = m;
    } catch (error) {
      $('m-rps').textContent = '–';
      if (error && error.status === 401) logout('not allowed to read metrics: log in');
    }
  }

  async function applyFilter() {
    $('filter-error').textContent = '';
    let filters;
    try {
      filters = JSON.parse($('filter').value || '{}');
    } catch (error) {
      $('filter-error').textContent = `Invalid JSON: ${error.message}`;
      return;
    }
    try {
      if (roomId) {
        const old = roomId;
        roomId = null;
        channel = null;
        await query({ controller: 'realtime', action: 'unsubscribe', body: { roomId: old } });
      }
      const result = await query({
        controller: 'realtime', action: 'subscribe', index: '%kserver', collection: 'users', body: filters,
      });
      roomId = result.roomId;
      channel = result.channel;
      $('feed-state').textContent = `subscribed (room ${roomId.slice(0, 8)}…)`;
    } catch (error) {
      $('feed-state').textContent = 'not subscribed';
      $('filter-error').textContent = error.message || String(error);
    }
  }

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function addRow(n) {
    const source = (n.result && n.result._source) || {};
    const row = document.createElement('tr');
    row.className = `${n.action} ${n.scope}`;
    row.dataset.id = n.result._id;
    cell(row, new Date(n.timestamp).toLocaleTimeString());
    cell(row, n.scope === 'out' ? `${n.action} (left filter)` : n.action, 'action');
    cell(row, n.result._id, 'id');
    cell(row, Array.isArray(source.profileIds) ? source.profileIds.join(', ') : '');
    const { profileIds, _kuzzle_info, ...rest } = source;
    cell(row, JSON.stringify(rest).slice(0, 300), 'content');
    const feed = $('feed');
    feed.insertBefore(row, feed.firstChild);
    while (feed.children.length > MAX_ROWS) feed.removeChild(feed.lastChild);
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('login-error').textContent = '';
    const username = $('username').value;
    try {
      const result = await query({
        controller: 'auth', action: 'login', strategy: 'local',
        body: { username, password: $('password').value },
      });
      jwt = result.jwt;
      $('password').value = '';
      await start(username);
    } catch (error) {
      $('login-error').textContent = error.message || String(error);
    }
  });
  $('anonymous').addEventListener('click', () => { jwt = null; start(null); });
  $('filter-form').addEventListener('submit', (event) => { event.preventDefault(); applyFilter(); });

  connect();
})();
