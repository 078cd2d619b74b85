#!/usr/bin/env node
'use strict';
// Closed-loop Kuzzle WebSocket load generator.
//
// C connections, K requests in flight on each: every reply (matched by `room`, else `requestId`)
// immediately triggers the next request on the same connection. A warm-up runs first; only replies
// received during the measurement window count. Prints one JSON line on stdout (see README.md).
//
// The connections are split over `--threads` worker threads; the main thread only keeps time.

const os = require('node:os');
const { parseArgs } = require('node:util');
const { Worker } = require('node:worker_threads');
const path = require('node:path');

const USAGE = `usage: loadgen.js --url ws://127.0.0.1:7512 [options]
  --frame JSON        frame template (default {"controller":"server","action":"now"});
                      string values may contain {{n}} (unique counter), {{k}} (n mod --keyspace),
                      {{c}} (connection index); requestId is always added
  --keyspace N        modulus for {{k}} (default 1000)
  --mix JSON          several weighted templates instead of --frame: [{"name":"read","weight":80,
                      "frame":{...},"keyspace":N}, ...]; requests follow a fixed smooth weighted
                      round-robin order; the output adds per-template figures under "by_frame"
  --probe JSON        one extra anonymous connection sending this frame, one at a time, each
                      --probe-interval ms after the previous reply; its latencies are reported
                      apart under "probe" (e.g. server:now p99 while the main load runs)
  --probe-interval MS (default 5)
  --jwt T[,T...]      jwt added to every frame; several = one per connection, round-robin
  --connections C     (default 32)     --inflight K  (default 8)
  --warmup S          (default 2)      --duration D  (default 5)
  --threads T         worker threads (default 1)
  --connect-timeout S (default 10)
  --progress          write "measure" and "end" lines on stderr when the window opens/closes`;

function fail(message) {
  process.stderr.write(`loadgen: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positive(name, raw, integer) {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
  }
  return value;
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        frame: { type: 'string', default: '{"controller":"server","action":"now"}' },
        keyspace: { type: 'string', default: '1000' },
        mix: { type: 'string' },
        probe: { type: 'string' },
        'probe-interval': { type: 'string', default: '5' },
        jwt: { type: 'string' },
        connections: { type: 'string', default: '32' },
        inflight: { type: 'string', default: '8' },
        warmup: { type: 'string', default: '2' },
        duration: { type: 'string', default: '5' },
        threads: { type: 'string', default: '1' },
        'connect-timeout': { type: 'string', default: '10' },
        progress: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!values.url) fail('--url is required');
  const keyspace = positive('keyspace', values.keyspace, true);
  const templates = values.mix === undefined
    ? [{ name: 'frame', weight: 1, frame: parseFrame('--frame', values.frame), keyspace }]
    : parseMix(values.mix, keyspace);
  const probe = values.probe === undefined ? null : parseFrame('--probe', values.probe);
  const connections = positive('connections', values.connections, true);
  const threads = Math.min(positive('threads', values.threads, true), connections);
  return {
    url: values.url,
    templates,
    schedule: schedule(templates.map((t) => t.weight)),
    probe,
    probeIntervalMs: positive('probe-interval', values['probe-interval'], false),
    jwts: values.jwt ? values.jwt.split(',').filter(Boolean) : [],
    connections,
    inflight: positive('inflight', values.inflight, true),
    warmupMs: positive('warmup', values.warmup, false) * 1000,
    durationMs: positive('duration', values.duration, false) * 1000,
    threads,
    connectTimeoutMs: positive('connect-timeout', values['connect-timeout'], false) * 1000,
    progress: values.progress,
  };
}

function parseFrame(option, raw) {
  let frame;
  try {
    frame = JSON.parse(raw);
  } catch (err) {
    fail(`${option} is not JSON: ${err.message}`);
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
    fail(`${option} must be a JSON object`);
  }
  return frame;
}

function parseMix(raw, defaultKeyspace) {
  let mix;
  try {
    mix = JSON.parse(raw);
  } catch (err) {
    fail(`--mix is not JSON: ${err.message}`);
  }
  if (!Array.isArray(mix) || mix.length === 0) fail('--mix must be a non-empty JSON array');
  const names = new Set();
  return mix.map((entry, i) => {
    if (entry === null || typeof entry !== 'object') fail(`--mix[${i}] must be an object`);
    const name = entry.name === undefined ? `t${i}` : String(entry.name);
    if (names.has(name)) fail(`--mix: duplicate name ${name}`);
    names.add(name);
    return {
      name,
      weight: positive(`mix[${i}].weight`, entry.weight ?? 1, true),
      frame: parseFrame(`--mix[${i}].frame`, JSON.stringify(entry.frame ?? null)),
      keyspace: positive(`mix[${i}].keyspace`, entry.keyspace ?? defaultKeyspace, true),
    };
  });
}

// Smooth weighted round-robin (nginx's): weights 4,1 give 0,0,1,0,0 rather than 0,0,0,0,1, so a
// mix is spread evenly over time; the order repeats every sum(weights) requests.
function schedule(weights) {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const order = [];
  for (let step = 0; step < total; step += 1) {
    let best = 0;
    for (let i = 0; i < weights.length; i += 1) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push(best);
  }
  return order;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Number(sorted[Math.max(0, index)].toFixed(3));
}

function stats(latencies, errorIds) {
  const sorted = Float64Array.from(latencies).sort();
  const errors = Object.values(errorIds).reduce((a, b) => a + b, 0);
  return {
    completed: sorted.length,
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    p999_ms: percentile(sorted, 0.999),
    errors,
    error_ids: errorIds,
  };
}

function addCounts(into, counts) {
  for (const [id, n] of Object.entries(counts)) into[id] = (into[id] || 0) + n;
}

function merge(opts, reports, cpuSeconds) {
  const total = reports.reduce((sum, r) => sum + r.latencies.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const r of reports) {
    all.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  all.sort();
  const errorIds = {};
  for (const r of reports) addCounts(errorIds, r.errorIds);
  const errors = Object.values(errorIds).reduce((a, b) => a + b, 0);
  const sum = (key) => reports.reduce((acc, r) => acc + r[key], 0);
  const seconds = opts.durationMs / 1000;
  const out = {
    frames_per_s: Math.round(total / seconds),
    p50_ms: percentile(all, 0.5),
    p99_ms: percentile(all, 0.99),
    p999_ms: percentile(all, 0.999),
    errors,
    error_ids: errorIds,
    completed: total,
    sent: sum('sent'),
    unmatched: sum('unmatched'),
    pending_at_end: sum('pendingAtEnd'),
    duration_s: seconds,
    connections: opts.connections,
    inflight: opts.inflight,
    threads: opts.threads,
    client_cpu: Number((cpuSeconds / seconds).toFixed(3)),
  };
  if (opts.templates.length > 1) {
    out.by_frame = {};
    opts.templates.forEach((template, t) => {
      const latencies = [];
      const ids = {};
      for (const r of reports) {
        for (let i = 0; i < r.latencies.length; i += 1) if (r.templates[i] === t) latencies.push(r.latencies[i]);
        addCounts(ids, r.templateErrorIds[t] || {});
      }
      const s = stats(latencies, ids);
      out.by_frame[template.name] = { frames_per_s: Math.round(s.completed / seconds), weight: template.weight, ...s };
    });
  }
  if (opts.probe !== null) {
    const probeIds = {};
    const latencies = [];
    for (const r of reports) {
      latencies.push(...r.probeLatencies);
      addCounts(probeIds, r.probeErrorIds);
    }
    out.probe = { interval_ms: opts.probeIntervalMs, ...stats(latencies, probeIds) };
  }
  return out;
}

function main() {
  const opts = parseOptions(process.argv.slice(2));
  const hardLimit = setTimeout(() => {
    process.stderr.write('loadgen: global timeout, giving up\n');
    process.exit(1);
  }, opts.connectTimeoutMs + opts.warmupMs + opts.durationMs + 15000);
  hardLimit.unref();

  const workers = [];
  const ready = [];
  const done = [];
  for (let w = 0; w < opts.threads; w += 1) {
    const connIndexes = [];
    for (let c = w; c < opts.connections; c += opts.threads) connIndexes.push(c);
    const worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: { ...opts, worker: w, connIndexes },
    });
    workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'fatal') reject(new Error(msg.message));
      });
    }));
    done.push(new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg) => {
        if (msg.type === 'report') resolve(msg);
      });
    }));
  }

  let cpuStart = null;
  let cpuSeconds = 0;
  Promise.all(ready)
    .then(() => {
      const startAt = Date.now() + 20;
      const measureAt = startAt + opts.warmupMs;
      const endAt = measureAt + opts.durationMs;
      for (const worker of workers) worker.postMessage({ type: 'go', startAt, measureAt, endAt });
      setTimeout(() => {
        cpuStart = process.cpuUsage();
        if (opts.progress) process.stderr.write('measure\n');
      }, measureAt - Date.now());
      setTimeout(() => {
        const used = process.cpuUsage(cpuStart);
        cpuSeconds = (used.user + used.system) / 1e6;
        if (opts.progress) process.stderr.write('end\n');
      }, endAt - Date.now());
      return Promise.all(done);
    })
    .then((reports) => {
      process.stdout.write(`${JSON.stringify(merge(opts, reports, cpuSeconds))}\n`);
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`loadgen: ${err.message}\n`);
      process.exit(1);
    });
}

module.exports = { percentile, merge, schedule, cpus: os.cpus().length };

if (require.main === module) main();
