'use strict';
// One load-generator thread: owns some connections, keeps `inflight` requests pending on each.

const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');

const opts = workerData;
const PLACEHOLDER = /\{\{([nkc])\}\}/;

// The frame text is split once into literal pieces and placeholder names, so building a request
// is string concatenation only (no JSON.stringify per frame).
function compile(frame, jwt) {
  const body = { ...frame };
  delete body.requestId;
  if (jwt !== undefined) body.jwt = jwt;
  const text = JSON.stringify(body);
  const rest = text === '{}' ? '}' : `,${text.slice(1)}`;
  const pieces = rest.split(PLACEHOLDER); // odd indexes are placeholder names
  return pieces;
}

const PHASE_IDLE = 0;
const PHASE_WARMUP = 1;
const PHASE_MEASURE = 2;
const PHASE_STOPPED = 3;

let phase = PHASE_IDLE;
let seq = 0;
let sent = 0;
let unmatched = 0;
let latencies = new Float64Array(1 << 16);
let templateOf = new Uint8Array(1 << 16); // which --mix template each latency belongs to
let count = 0;
const errorIds = {};
const templateErrorIds = opts.templates.map(() => ({}));
const probeLatencies = [];
const probeErrorIds = {};
const pending = new Map(); // requestId -> [send time (ms, performance.now), template index]

function record(latency, template) {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
    const grownTemplates = new Uint8Array(templateOf.length * 2);
    grownTemplates.set(templateOf);
    templateOf = grownTemplates;
  }
  latencies[count] = latency;
  templateOf[count] = template;
  count += 1;
}

function countError(id, template) {
  if (phase !== PHASE_MEASURE) return;
  errorIds[id] = (errorIds[id] || 0) + 1;
  if (template !== undefined) {
    const ids = templateErrorIds[template];
    ids[id] = (ids[id] || 0) + 1;
  }
}

function makeConnection(connIndex) {
  const jwt = opts.jwts.length ? opts.jwts[connIndex % opts.jwts.length] : undefined;
  const compiled = opts.templates.map((t) => compile(t.frame, jwt));
  const keyspaces = opts.templates.map((t) => t.keyspace);
  const prefix = `${opts.worker}-${connIndex}-`;
  const ws = new WebSocket(opts.url, { perMessageDeflate: false });

  function send() {
    seq += 1;
    const n = seq * opts.threads + opts.worker;
    const template = opts.schedule[n % opts.schedule.length];
    const pieces = compiled[template];
    const requestId = prefix + seq;
    let text = `{"requestId":"${requestId}"${pieces[0]}`;
    for (let i = 1; i < pieces.length; i += 2) {
      const name = pieces[i];
      text += (name === 'n' ? n : name === 'k' ? n % keyspaces[template] : connIndex) + pieces[i + 1];
    }
    pending.set(requestId, [performance.now(), template]);
    sent += 1;
    ws.send(text);
  }

  ws.on('message', (data) => {
    const now = performance.now();
    let reply;
    try {
      reply = JSON.parse(data.toString());
    } catch {
      countError('loadgen.unparsable_reply');
      return;
    }
    const id = reply.room || reply.requestId;
    const entry = id === undefined ? undefined : pending.get(id);
    if (entry === undefined) {
      // Not ours (or a notification): the request it answers, if any, stays pending.
      if (phase === PHASE_MEASURE) unmatched += 1;
      countError(reply.error ? `unmatched:${reply.error.id || reply.status}` : 'loadgen.unmatched_reply');
      return;
    }
    pending.delete(id);
    const [started, template] = entry;
    if (phase === PHASE_MEASURE) {
      record(now - started, template);
      if (reply.error) countError(reply.error.id || `status:${reply.status}`, template);
    }
    if (phase !== PHASE_STOPPED) send();
  });

  ws.on('close', (code) => {
    if (phase !== PHASE_STOPPED) countError(`loadgen.closed:${code}`);
  });
  ws.on('error', () => {}); // 'close' follows and is what we count

  return {
    ws,
    start() {
      for (let i = 0; i < opts.inflight; i += 1) send();
    },
    opened: opened(ws),
  };
}

function opened(ws) {
  return new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
}

// The probe: one anonymous connection, one request at a time, paced, measured apart.
function makeProbe() {
  const text = JSON.stringify(opts.probe);
  const ws = new WebSocket(opts.url, { perMessageDeflate: false });
  let probeSeq = 0;
  let sentAt = 0;
  let waiting = null;

  function send() {
    if (phase === PHASE_STOPPED) return;
    probeSeq += 1;
    waiting = `probe-${probeSeq}`;
    sentAt = performance.now();
    ws.send(`{"requestId":"${waiting}",${text.slice(1)}`);
  }

  ws.on('message', (data) => {
    const now = performance.now();
    let reply;
    try {
      reply = JSON.parse(data.toString());
    } catch {
      return;
    }
    if ((reply.room || reply.requestId) !== waiting) return;
    waiting = null;
    if (phase === PHASE_MEASURE) {
      probeLatencies.push(now - sentAt);
      if (reply.error) {
        const eid = reply.error.id || `status:${reply.status}`;
        probeErrorIds[eid] = (probeErrorIds[eid] || 0) + 1;
      }
    }
    setTimeout(send, opts.probeIntervalMs);
  });
  ws.on('error', () => {});
  return { ws, start: send, opened: opened(ws) };
}

const connections = opts.connIndexes.map(makeConnection);
if (opts.probe !== null && opts.worker === 0) connections.push(makeProbe());

const connectTimer = setTimeout(() => {
  parentPort.postMessage({ type: 'fatal', message: 'connect timeout' });
}, opts.connectTimeoutMs);

Promise.all(connections.map((c) => c.opened)).then(
  () => {
    clearTimeout(connectTimer);
    parentPort.postMessage({ type: 'ready' });
  },
  (err) => {
    clearTimeout(connectTimer);
    parentPort.postMessage({ type: 'fatal', message: `connect to ${opts.url} failed: ${err.message}` });
  },
);

function finish() {
  phase = PHASE_STOPPED;
  const measured = latencies.slice(0, count);
  const templates = templateOf.slice(0, count);
  const pendingAtEnd = pending.size;
  // Let in-flight replies land for a moment so the server sees clean closes, then report.
  const drainUntil = Date.now() + 1000;
  const poll = setInterval(() => {
    if (pending.size === 0 || Date.now() > drainUntil) {
      clearInterval(poll);
      for (const c of connections) c.ws.close(1000);
      parentPort.postMessage(
        {
          type: 'report',
          latencies: measured,
          templates,
          templateErrorIds,
          probeLatencies,
          probeErrorIds,
          errorIds,
          sent,
          unmatched,
          pendingAtEnd,
        },
        [measured.buffer, templates.buffer],
      );
    }
  }, 10);
}

parentPort.on('message', (msg) => {
  if (msg.type !== 'go') return;
  setTimeout(() => {
    phase = PHASE_WARMUP;
    for (const c of connections) c.start();
  }, Math.max(0, msg.startAt - Date.now()));
  setTimeout(() => {
    phase = PHASE_MEASURE;
    sent = 0;
  }, Math.max(0, msg.measureAt - Date.now()));
  setTimeout(finish, Math.max(0, msg.endAt - Date.now()));
});
