#!/usr/bin/env node
/**
 * A KRPC load generator for loopback (docs/benchmarks.md). It sends valid BEP 5 queries (ping, find_node,
 * get_peers with random targets) at a controlled rate from several UDP sockets (distinct source ports;
 * the target's per-address limit should be off anyway: `run --ip-rate-limit 0`), counts the answers by
 * transaction id, and ramps the rate to find the highest one answered with under 1% loss.
 *
 *   node test/bench/dht-load.mjs --target 127.0.0.1:6881 [--type ping|find_node|get_peers]
 *       [--step-seconds 3] [--start 1000] [--max 200000] [--bind 127.0.70.1]
 *
 * Everything is bounded: each step lasts --step-seconds plus a short grace for late answers, and the
 * ramp stops after MAX_STEPS steps. Only loopback targets are accepted.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';

/** Sockets the load is spread over (distinct source ports). */
export const SOCKETS = 16;
/** Send loop period; each tick sends what the rate allows since the start of the step. */
const TICK_MS = 2;
/** Late answers still counted after a step's sending ends. */
const GRACE_MS = 1_000;
/** Quiet time between steps, so a step that overloaded the target does not spill into the next. */
const SETTLE_MS = 1_000;
/** A step passes when under this share of queries went unanswered. */
export const MAX_LOSS = 0.01;
/** The generator must send at least this share of the asked rate, or the step measures the generator. */
const MIN_ACHIEVED = 0.95;
/** Upper bound on ramp steps (doubling, then bisection). */
const MAX_STEPS = 14;
/** The bisection stops when the pass/fail bracket is this narrow (relative). */
const BRACKET = 0.1;
/** Pool of random 20-byte targets, reused round-robin (drawing fresh bytes per query costs CPU). */
const TARGET_POOL = 4096;
/** Receive buffer asked for each socket, so the generator does not drop answers itself. */
const RECV_BUFFER = 4 * 1024 * 1024;

const enc = (s) => Buffer.from(s, 'latin1');
const bstr = (b) => Buffer.concat([enc(`${b.length}:`), b]);

/**
 * The query of `type` with the transaction id and target left as zeros; returns the buffer and the
 * offsets where tid (4 bytes) and target (20 bytes, or -1 for ping) go.
 */
export function queryTemplate(type, nodeId) {
  const parts = [enc('d1:ad2:id'), bstr(nodeId)];
  let targetKey = null;
  if (type === 'find_node') targetKey = '6:target';
  else if (type === 'get_peers') targetKey = '9:info_hash';
  else if (type !== 'ping') throw new Error(`unknown query type ${type}`);
  let targetAt = -1;
  if (targetKey) {
    parts.push(enc(targetKey), enc('20:'));
    targetAt = Buffer.concat(parts).length;
    parts.push(Buffer.alloc(20));
  }
  parts.push(enc(`e1:q${type.length}:${type}1:t4:`));
  const tidAt = Buffer.concat(parts).length;
  parts.push(Buffer.alloc(4), enc('1:y1:qe'));
  return { buf: Buffer.concat(parts), tidAt, targetAt };
}

const T_KEY = enc('1:t4:');
const Y_R = enc('1:y1:r');
const Y_E = enc('1:y1:e');

/**
 * The transaction id of an answer, or -1. Keys of a bencoded dict are sorted and "t" and "y" are the last
 * short keys, so the last occurrences are theirs (a value can contain the bytes, but not after them).
 */
function answerTid(msg) {
  const at = msg.lastIndexOf(T_KEY);
  if (at < 0 || at + T_KEY.length + 4 > msg.length) return -1;
  return msg.readUInt32BE(at + T_KEY.length);
}

function assertLoopback(host) {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`${host}: the load generator only targets 127.0.0.0/8`);
}

/** Opens the generator's sockets on `bindHost`. */
export async function openSockets(bindHost, count = SOCKETS) {
  assertLoopback(bindHost);
  const socks = [];
  for (let i = 0; i < count; i++) {
    const s = createSocket('udp4');
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, bindHost, () => {
        s.off('error', reject);
        resolve();
      });
    });
    try {
      s.setRecvBufferSize(RECV_BUFFER);
    } catch {
      // The kernel caps the size (net.core.rmem_max); the default still works at moderate rates.
    }
    socks.push(s);
  }
  return socks;
}

/**
 * Sends `type` queries at `rate` per second for `durationMs` to host:port and counts answers (a
 * response or an error with the same transaction id) that arrive by the end of the grace period.
 */
export async function measureStep({ socks, host, port, type, rate, durationMs }) {
  assertLoopback(host);
  const expected = Math.ceil((rate * durationMs) / 1000);
  const answered = new Uint8Array(expected);
  const templates = socks.map(() => queryTemplate(type, randomBytes(20)));
  const targets = Array.from({ length: TARGET_POOL }, () => randomBytes(20));
  let answers = 0;
  let errors = 0;
  let strays = 0;
  const onMessage = (msg) => {
    const tid = answerTid(msg);
    if (tid < 0 || tid >= expected || answered[tid] === 1) {
      strays++; // a query from the target (it pings new nodes), or a duplicate
      return;
    }
    if (msg.lastIndexOf(Y_R) >= 0) answers++;
    else if (msg.lastIndexOf(Y_E) >= 0) errors++;
    else {
      strays++;
      return;
    }
    answered[tid] = 1;
  };
  for (const s of socks) s.on('message', onMessage);

  let sent = 0;
  let sendErrors = 0;
  const start = performance.now();
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs || sent >= expected) break;
    const due = Math.min(expected, Math.floor((rate * elapsed) / 1000));
    while (sent < due) {
      const i = sent % socks.length;
      const t = templates[i];
      const buf = Buffer.from(t.buf);
      buf.writeUInt32BE(sent, t.tidAt);
      if (t.targetAt >= 0) targets[sent % TARGET_POOL].copy(buf, t.targetAt);
      socks[i].send(buf, port, host, (err) => {
        if (err) sendErrors++;
      });
      sent++;
    }
    await sleep(TICK_MS);
  }
  const sendMs = performance.now() - start;
  await sleep(GRACE_MS);
  for (const s of socks) s.off('message', onMessage);
  const got = answers + errors;
  return {
    type,
    rate,
    sent,
    answers,
    errors,
    strays,
    sendErrors,
    achievedRate: Math.round((sent * 1000) / sendMs),
    answeredPerSec: Math.round((got * 1000) / sendMs),
    loss: sent === 0 ? 1 : 1 - got / sent,
  };
}

/**
 * Ramps the rate (doubling from `start`, then bisecting) to the highest one with under 1% loss.
 * Returns the best passing step, every step measured, and whether the generator itself was the limit.
 */
export async function findMaxRate({ socks, host, port, type, start = 1_000, max = 200_000, stepMs = 3_000, log = () => {} }) {
  const steps = [];
  let best = null;
  let failRate = null;
  let generatorBound = false;
  let rate = start;
  for (let i = 0; i < MAX_STEPS; i++) {
    const r = await measureStep({ socks, host, port, type, rate, durationMs: stepMs });
    steps.push(r);
    log(r);
    const generatorOk = r.achievedRate >= MIN_ACHIEVED * rate;
    if (!generatorOk) {
      generatorBound = true;
      failRate = rate;
    } else if (r.loss < MAX_LOSS) best = r;
    else failRate = rate;
    await sleep(SETTLE_MS);
    const low = best ? best.rate : 0;
    if (failRate === null) {
      if (rate >= max) break;
      rate = Math.min(max, rate * 2);
    } else {
      if ((failRate - low) / failRate <= BRACKET) break;
      rate = Math.round((low + failRate) / 2);
      if (rate <= 0) break;
    }
  }
  return { type, best, steps, generatorBound };
}

function parseArgs(argv) {
  const out = { target: '', type: 'ping', stepSeconds: 3, start: 1_000, max: 200_000, bind: '127.0.70.1' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--target') out.target = value;
    else if (flag === '--type') out.type = value;
    else if (flag === '--step-seconds') out.stepSeconds = Number(value);
    else if (flag === '--start') out.start = Number(value);
    else if (flag === '--max') out.max = Number(value);
    else if (flag === '--bind') out.bind = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  const m = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(out.target);
  if (!m) throw new Error('--target HOST:PORT on 127.0.0.0/8 is required');
  return { ...out, host: m[1], port: Number(m[2]) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const socks = await openSockets(args.bind);
  const result = await findMaxRate({
    socks,
    host: args.host,
    port: args.port,
    type: args.type,
    start: args.start,
    max: args.max,
    stepMs: args.stepSeconds * 1000,
    log: (r) => console.error(JSON.stringify(r)),
  });
  for (const s of socks) s.close();
  console.log(JSON.stringify({ type: result.type, maxRate: result.best?.rate ?? 0, answeredPerSec: result.best?.answeredPerSec ?? 0, generatorBound: result.generatorBound }));
}
