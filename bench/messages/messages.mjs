// The message-history and send benchmark (bench/messages/run starts the
// services and runs this). It
//   1. seeds one direct conversation with BENCH_MESSAGES (100,000)
//      messages straight through the mongodb driver, with the document
//      shape the server stores (the conversation and users come from the
//      REST API);
//   2. times GET /api/conversations/:id/messages for the first page and
//      for the page 1,000 pages deep (limit 50), with page-number paging
//      (page=1, page=1000), beforeSeq cursors (newest page, 1,000th page
//      back) and afterSeq cursors (oldest page, 1,000th page on):
//      median and p99 of BENCH_SAMPLES (3) requests each;
//   3. measures POST /api/conversations/:id/messages with BENCH_CLIENTS
//      (50) concurrent clients for BENCH_DURATION (10) seconds, each into
//      its own conversation and all into the seeded one;
//   4. reports, for every phase, the CPU time of Kore, FerretDB and Redis
//      (from /proc/<pid>/stat) as a share of one CPU.
//
// Environment: BASE_URL, MONGODB_URI, KORE_PGID, FERRETDB_PID, REDIS_PID,
// BENCH_MESSAGES, BENCH_SAMPLES, BENCH_CLIENTS, BENCH_DURATION.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MongoClient, ObjectId } from 'mongodb';

const BASE = process.env.BASE_URL;
const N = Number(process.env.BENCH_MESSAGES || 100000);
const SAMPLES = Number(process.env.BENCH_SAMPLES || 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS || 50);
const DURATION = Number(process.env.BENCH_DURATION || 10) * 1000;
const LIMIT = 50;
const DEEP = Math.min(1000, Math.floor(N / LIMIT));
const TICK = 100; // USER_HZ

function say(...a) {
  console.log(...a);
}

// fetch may pick a pooled keep-alive connection the server has just closed
// (Kore's http_keepalive_time) while a long request ran: one retry.
async function api(method, path, token, body, retried = false) {
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    if (retried || e.cause?.code !== 'UND_ERR_SOCKET') throw e;
    return api(method, path, token, body, true);
  }
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

// ---- CPU accounting from /proc ----

function korePids() {
  const out = execFileSync('pgrep', ['-g', process.env.KORE_PGID]).toString();
  return out.split('\n').filter(Boolean).map(Number);
}

function ticks(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}

function cpuSnapshot() {
  return {
    at: process.hrtime.bigint(),
    kore: korePids().reduce((s, p) => s + ticks(p), 0),
    ferretdb: ticks(process.env.FERRETDB_PID),
    redis: ticks(process.env.REDIS_PID),
    client: process.cpuUsage(),
  };
}

function cpuSplit(a, b) {
  const secs = Number(b.at - a.at) / 1e9;
  const pct = (t) => ((t / TICK) / secs * 100).toFixed(0);
  const cu = process.cpuUsage(a.client);
  return {
    kore: pct(b.kore - a.kore),
    ferretdb: pct(b.ferretdb - a.ferretdb),
    redis: pct(b.redis - a.redis),
    client: ((cu.user + cu.system) / 1e6 / secs * 100).toFixed(0),
  };
}

function cpuLine(c) {
  return `cpu (% of one core): kore ${c.kore}  ferretdb ${c.ferretdb}  redis ${c.redis}  bench client ${c.client}`;
}

function pctile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---- setup ----

async function user(i) {
  const email = `bench${Date.now().toString(36)}${i}@bench.lnk`;
  let r = await api('POST', '/api/auth/register', null, { name: `Bench ${i}`, email, password: 'secret123' });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  r = await api('POST', '/api/auth/login', null, { email, password: 'secret123' });
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  return { id: r.body.user._id, token: r.body.accessToken };
}

async function users(n) {
  const out = [];
  for (let i = 0; i < n; i += 10) {
    out.push(...await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, k) => user(i + k))));
  }
  return out;
}

async function seed(db, conv, a, b) {
  const msgs = db.collection('messages');
  const base = Date.now() - N * 1000;
  const t0 = Date.now();
  let last;
  for (let from = 1; from <= N; from += 5000) {
    const docs = [];
    for (let seq = from; seq < from + 5000 && seq <= N; seq++) {
      const sender = seq % 2 ? a : b;
      const id = new ObjectId();
      const at = new Date(base + seq * 1000);
      docs.push({
        _id: id, conversationId: new ObjectId(conv), senderId: new ObjectId(sender.id),
        content: `seeded message ${seq}: the quick brown fox jumps over the lazy dog`,
        type: 'text', readBy: { [sender.id]: at }, reactions: [], reactionTypes: {},
        deletedFor: [], isForwarded: false, seq, clientMessageId: id.toHexString(),
        createdAt: at, updatedAt: at,
      });
    }
    await msgs.insertMany(docs, { ordered: false });
    last = docs[docs.length - 1];
  }
  await db.collection('conversations').updateOne({ _id: new ObjectId(conv) }, {
    $set: {
      seq: N, lastMessage: last.content, lastMessageId: last._id, lastMessageAt: last.createdAt,
      [`unreadCounts.${a.id}`]: N / 2, [`unreadCounts.${b.id}`]: N / 2,
    },
  });
  return (Date.now() - t0) / 1000;
}

// ---- phases ----

async function latency(label, path, token, check) {
  const times = [];
  const c0 = cpuSnapshot();
  for (let i = 0; i < SAMPLES; i++) {
    const t = process.hrtime.bigint();
    const r = await api('GET', path, token);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 200) throw new Error(`${label}: ${r.status} ${JSON.stringify(r.body)}`);
    check(r.body.messages.map((m) => m.seq));
  }
  const cpu = cpuSplit(c0, cpuSnapshot());
  times.sort((x, y) => x - y);
  const row = { label, median: pctile(times, 50), p99: pctile(times, 99), cpu };
  say(`  ${label.padEnd(44)} median ${row.median.toFixed(1).padStart(9)} ms   p99 ${row.p99.toFixed(1).padStart(9)} ms   ${cpuLine(cpu)}`);
  return row;
}

function expectRange(from, to) {
  return (seqs) => {
    const want = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    if (JSON.stringify(seqs) !== JSON.stringify(want)) {
      throw new Error(`page ${seqs[0]}..${seqs[seqs.length - 1]} instead of ${from}..${to}`);
    }
  };
}

async function throughput(label, senders) {
  let ok = 0;
  let failed = 0;
  const lat = [];
  const end = Date.now() + DURATION;
  const c0 = cpuSnapshot();
  const t0 = process.hrtime.bigint();
  await Promise.all(senders.map(async ({ token, conv }, i) => {
    let k = 0;
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      const r = await api('POST', `/api/conversations/${conv}/messages`, token, { content: `bench ${i}.${k++}` });
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status === 201) ok++;
      else failed++;
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSplit(c0, cpuSnapshot());
  lat.sort((x, y) => x - y);
  say(`  ${label.padEnd(44)} ${(ok / secs).toFixed(0).padStart(6)} msg/s   p50 ${pctile(lat, 50).toFixed(1)} ms   p99 ${pctile(lat, 99).toFixed(1)} ms   errors ${failed}`);
  say(`  ${''.padEnd(44)} ${cpuLine(cpu)}`);
  return { label, rate: ok / secs, failed, cpu };
}

async function main() {
  const client = new MongoClient(process.env.MONGODB_URI);
  await client.connect();
  const db = client.db();

  const [a, b, ...rest] = await users(Math.max(2, CLIENTS + 1));
  let r = await api('POST', '/api/conversations', a.token, { participants: [b.id] });
  if (r.status !== 201) throw new Error(`conversation: ${r.status}`);
  const conv = r.body._id;

  say(`seeding ${N} messages into one conversation through the driver...`);
  const secs = await seed(db, conv, a, b);
  say(`  seeded in ${secs.toFixed(1)} s (${(N / secs).toFixed(0)} msg/s)`);

  const top = N;
  const deepBefore = top + 1 - (DEEP - 1) * LIMIT; // the 1,000th page back
  const deepAfter = (DEEP - 1) * LIMIT; // the 1,000th page on
  say(`\nGET .../messages, limit ${LIMIT}, ${SAMPLES} samples each (conversation of ${N}):`);
  const rows = [];
  rows.push(await latency('page-number, first page (page=1)', `/api/conversations/${conv}/messages?limit=${LIMIT}&page=1`,
    a.token, expectRange(top - LIMIT + 1, top)));
  rows.push(await latency(`page-number, ${DEEP} pages deep (page=${DEEP})`,
    `/api/conversations/${conv}/messages?limit=${LIMIT}&page=${DEEP}`,
    a.token, expectRange(top - DEEP * LIMIT + 1, top - (DEEP - 1) * LIMIT)));
  rows.push(await latency(`cursor, first page (beforeSeq=${top + 1})`,
    `/api/conversations/${conv}/messages?limit=${LIMIT}&beforeSeq=${top + 1}`,
    a.token, expectRange(top - LIMIT + 1, top)));
  rows.push(await latency(`cursor, ${DEEP} pages deep (beforeSeq=${deepBefore})`,
    `/api/conversations/${conv}/messages?limit=${LIMIT}&beforeSeq=${deepBefore}`,
    a.token, expectRange(deepBefore - LIMIT, deepBefore - 1)));
  rows.push(await latency('cursor, first page (afterSeq=0)',
    `/api/conversations/${conv}/messages?limit=${LIMIT}&afterSeq=0`,
    a.token, expectRange(1, LIMIT)));
  rows.push(await latency(`cursor, ${DEEP} pages deep (afterSeq=${deepAfter})`,
    `/api/conversations/${conv}/messages?limit=${LIMIT}&afterSeq=${deepAfter}`,
    a.token, expectRange(deepAfter + 1, deepAfter + LIMIT)));

  const ratio = (deep, shallow) => (rows[deep].p99 / rows[shallow].p99).toFixed(2);
  say(`  p99 deep/first: page-number ${ratio(1, 0)}x, beforeSeq ${ratio(3, 2)}x, afterSeq ${ratio(5, 4)}x`);

  say(`\nPOST .../messages, ${CLIENTS} concurrent clients, ${DURATION / 1000} s each:`);
  const own = [];
  for (const u of rest.slice(0, CLIENTS)) {
    r = await api('POST', '/api/conversations', u.token, { participants: [b.id] });
    own.push({ token: u.token, conv: r.body._id });
  }
  await throughput(`${CLIENTS} clients, one conversation each`, own);
  const shared = Array.from({ length: CLIENTS }, (_, i) => ({ token: i % 2 ? a.token : b.token, conv }));
  await throughput(`${CLIENTS} clients, all in the seeded conversation`, shared);

  await client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
