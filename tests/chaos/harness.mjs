// The fault-injection harness: one scenario of traffic against a running
// lnk-chat server, a fault injected meanwhile, then the books are checked.
//
// 20 users, 10 direct conversations (users 2i and 2i+1) and one group of
// users 0..9. Every user keeps one socket.io-client socket on /chat
// (websocket only, polling only, or polling then upgrade: user i % 3)
// that reconnects by itself, and records every event it receives. Every
// user sends, one message at a time, over REST or socket send_message
// (with ack), each message with a clientMessageId of its own; a failure
// or a timeout is retried with the same clientMessageId (alternating the
// channel), so a retry after a lost ack gets the stored message back.
//
// After the traffic: the sends still pending are retried to the end, the
// clients that lost their socket are reconnected, every client catches
// up with GET /messages?afterSeq=<the highest seq up to which it has
// every message> (README, "Order"), and then:
//   * rows (mongodb driver): every acknowledged clientMessageId stored
//     exactly once, with the _id its ack gave; nothing stored twice; seq
//     1..n in every conversation;
//   * deliveries: no client got the same _id twice as a live new_message;
//     every client that never lost its socket got live every message that
//     was surely announced (acknowledged 201, or acknowledged at the first
//     socket attempt: an earlier attempt may have been stored and its
//     announcement lost with a worker, and a retry is then answered 200
//     without a second announcement); after catch-up every member has
//     every stored message, and no client has one that is not stored;
//   * privacy: no event names a conversation the client is not in, and
//     no user_online_status is about a user who shares none with it;
//   * unread counts and heads: every member's unread count equals the
//     messages of others, the conversation's seq and lastMessage are the
//     newest stored message's.
import { MongoClient, ObjectId } from 'mongodb';
import { io } from 'socket.io-client';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now();
const HEX = /^[0-9a-f]{24}$/;

export const DEFAULTS = {
  users: 20,
  groupSize: 10,
  trafficMs: 30000,
  // Pause between two messages of a user (uniform in the range).
  thinkMs: [150, 600],
  // A send (REST response or socket ack) that takes longer is a timeout,
  // retried. The server answers 503 within ~15 s (10 s lock deadline and
  // 5 s grace of a commit routed to a dead worker).
  sendTimeoutMs: 20000,
  // Pending sends are retried until this long after the traffic ends.
  retryGraceMs: 60000,
  settleMs: 3000,
  // How long reconnecting clients get before they are told to connect.
  reconnectMs: 30000,
  setupTimeoutMs: 120000,
};

async function http(base, method, path, { token, body, timeoutMs = 30000 } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, body: json, text };
}

// fn() until it returns something (errors and falsy results are retried).
async function until(what, fn, ms) {
  const end = now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (now() > end) throw new Error(`${what}: not reached in ${ms} ms${last ? ` (${last.message})` : ''}`);
    await sleep(250);
  }
}

function errorKind(e) {
  if (!e) return 'error';
  if (e.name === 'TimeoutError' || /timed? ?out/i.test(e.message)) return 'timeout';
  if (/disconnected/.test(e.message)) return 'disconnected';
  const c = e.cause && (e.cause.code || e.cause.message);
  return c ? `net ${c}` : `net ${e.message}`;
}

// Conversation ids an event names, wherever its payload puts them.
function conversationIds(arg) {
  const out = [];
  if (!arg || typeof arg !== 'object') return out;
  const add = (v) => {
    const s = v && typeof v === 'object' ? (v._id || v.id) : v;
    if (typeof s === 'string' && HEX.test(s)) out.push(s);
  };
  add(arg.conversationId);
  if (arg.message && typeof arg.message === 'object') add(arg.message.conversationId);
  if (arg.conversation && typeof arg.conversation === 'object') add(arg.conversation._id);
  return [...new Set(out)];
}

// runScenario({base, mongoUri, name, fault, log, ...DEFAULTS overrides})
// fault(ctx): runs alongside the traffic; ctx.at(ms) resolves ms after the
// traffic started, ctx.fault(label, start, end) records a fault (end: the
// moment it was over, recovery is measured from there), ctx.note(text).
// Resolves with the scenario's books (see report.mjs) and `problems`, the
// list of violated invariants (empty: the server held up).
export async function runScenario(opts) {
  const o = { ...DEFAULTS, ...opts };
  const { base, log = () => {} } = o;
  const tag = `${o.name.replace(/[^a-z0-9]+/gi, '')}${now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const problems = [];
  const notes = [];

  // --- users and conversations ---------------------------------------
  log(`setting up ${o.users} users`);
  await until('the server is healthy', async () => (await http(base, 'GET', '/api/health')).status === 200, o.setupTimeoutMs);
  const users = [];
  for (let i = 0; i < o.users; i++) {
    const email = `chaos-${tag}-${i}@test.lnk`;
    const password = 'secret123';
    const name = `Chaos ${i}`;
    await until(`register user ${i}`, async () => {
      const r = await http(base, 'POST', '/api/auth/register', { body: { name, email, password } });
      return r.status === 201 || r.status === 409;
    }, o.setupTimeoutMs);
    const login = await until(`login user ${i}`, async () => {
      const r = await http(base, 'POST', '/api/auth/login', { body: { email, password } });
      return r.status === 200 ? r.body : null;
    }, o.setupTimeoutMs);
    users.push({ i, name, id: login.user._id, token: login.accessToken, convs: [], contacts: new Set() });
  }
  const convs = [];
  async function create(creator, members, type) {
    const body = type === 'group'
      ? { type, groupName: `chaos ${tag}`, participants: members.filter((m) => m !== creator).map((m) => m.id) }
      : { type, participants: [members.find((m) => m !== creator).id] };
    const r = await until(`create a ${type} conversation`, async () => {
      const x = await http(base, 'POST', '/api/conversations', { token: creator.token, body });
      return x.status === 201 ? x.body : null;
    }, o.setupTimeoutMs);
    const got = (r.participants || []).map((p) => (typeof p === 'string' ? p : p._id)).sort();
    const want = members.map((m) => m.id).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`conversation ${r._id} has participants ${got}, not ${want}`);
    }
    const conv = { id: r._id, type, members };
    for (const m of members) {
      m.convs.push(conv);
      for (const n of members) if (n !== m) m.contacts.add(n.id);
    }
    convs.push(conv);
    return conv;
  }
  for (let i = 0; i + 1 < o.users; i += 2) await create(users[i], [users[i], users[i + 1]], 'direct');
  await create(users[0], users.slice(0, o.groupSize), 'group');
  const convById = new Map(convs.map((c) => [c.id, c]));

  // --- sockets ----------------------------------------------------------
  const TRANSPORTS = [['websocket'], ['polling'], ['polling', 'websocket']];
  const foreign = [];
  const clients = users.map((u) => {
    const transports = TRANSPORTS[u.i % TRANSPORTS.length];
    const socket = io(`${base}/chat`, {
      auth: { token: u.token },
      forceNew: true,
      transports,
      upgrade: transports.length > 1,
      reconnection: true,
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
      timeout: 20000,
    });
    const c = {
      user: u, socket, transport: transports.join('+'),
      memberOf: new Set(u.convs.map((x) => x.id)),
      connects: 0, disconnects: [], connectErrors: 0, events: {},
      live: new Map(), // message _id -> {at, seq, conv}
      dups: [],
      caught: new Map(), // message _id -> seq, from the catch-up
      forced: false,
    };
    socket.on('connect', () => { c.connects += 1; });
    socket.on('disconnect', (reason) => { c.disconnects.push({ at: now(), reason }); });
    socket.on('connect_error', () => { c.connectErrors += 1; });
    socket.onAny((event, arg) => {
      const at = now();
      c.events[event] = (c.events[event] || 0) + 1;
      for (const cid of conversationIds(arg)) {
        if (!c.memberOf.has(cid)) foreign.push({ user: u.i, event, conversationId: cid, at });
      }
      if (event === 'user_online_status' && arg && typeof arg.userId === 'string' &&
          arg.userId !== u.id && !u.contacts.has(arg.userId)) {
        foreign.push({ user: u.i, event, userId: arg.userId, at });
      }
      if (event === 'new_message' && arg && arg.message) {
        const id = arg.message._id;
        const prev = c.live.get(id);
        if (prev) {
          c.dups.push({ id, conv: arg.conversationId, seq: arg.message.seq, first: prev.at, again: at });
        } else {
          c.live.set(id, { at, seq: arg.message.seq, conv: arg.conversationId });
        }
      }
    });
    return c;
  });
  log(`connecting ${clients.length} sockets`);
  await until('every socket connected', () => clients.every((c) => c.socket.connected), o.setupTimeoutMs);
  // The rooms are joined at connect; give the last joins a moment.
  await sleep(500);
  const connectedAt = now();
  for (const c of clients) c.disconnectsBefore = c.disconnects.length;

  // --- traffic ----------------------------------------------------------
  const sends = [];
  const faults = [];
  const t0 = now();
  const trafficEnd = t0 + o.trafficMs;
  const retryDeadline = trafficEnd + o.retryGraceMs;

  async function restSend(u, rec) {
    const r = await http(base, 'POST', `/api/conversations/${rec.conv}/messages`, {
      token: u.token, body: { content: rec.content, clientMessageId: rec.cmid }, timeoutMs: o.sendTimeoutMs,
    });
    if (r.status === 201 || r.status === 200) return { ok: true, status: r.status, message: r.body };
    const msg = r.body && (Array.isArray(r.body.message) ? r.body.message.join('; ') : r.body.message);
    return { ok: false, kind: `${r.status}${msg ? ` ${msg}` : ''}`, detail: msg };
  }
  async function socketSend(c, rec) {
    const ack = await c.socket.timeout(o.sendTimeoutMs).emitWithAck('send_message', {
      conversationId: rec.conv, message: { content: rec.content, clientMessageId: rec.cmid },
    });
    if (ack && ack.success === true && ack.message) return { ok: true, status: 'ack', message: ack.message };
    return { ok: false, kind: `ack ${ack && ack.error}`, detail: ack && ack.error };
  }

  async function deliver(c, rec) {
    for (let k = 0; ; k++) {
      // Alternate the channel on retries; REST while the socket is down
      // (an emit on a disconnected socket would wait in its buffer).
      let channel = (k % 2 === 0) === (rec.first === 'socket') ? 'socket' : 'rest';
      if (channel === 'socket' && !c.socket.connected) channel = 'rest';
      const a = { channel, t0: now() };
      rec.attempts.push(a);
      let r;
      try {
        r = channel === 'rest' ? await restSend(c.user, rec) : await socketSend(c, rec);
      } catch (e) {
        r = { ok: false, kind: errorKind(e), detail: e.message };
      }
      a.t1 = now();
      a.ok = r.ok;
      if (r.ok) {
        a.status = r.status;
        rec.acked = { id: r.message && r.message._id, seq: r.message && r.message.seq, status: r.status, at: a.t1 };
        // Surely announced: this attempt stored it (201), or no attempt
        // before it could have.
        rec.announced = r.status === 201 || k === 0;
        return;
      }
      a.kind = r.kind;
      a.detail = r.detail;
      if (now() > retryDeadline) {
        rec.gaveUp = true;
        return;
      }
      await sleep(Math.min(2000, 200 * 2 ** Math.min(k, 4)) * (0.5 + Math.random()));
    }
  }

  async function userLoop(c) {
    const u = c.user;
    for (let n = 0; now() < trafficEnd; n++) {
      const conv = u.convs[Math.floor(Math.random() * u.convs.length)];
      const cmid = `${tag}-${u.i}-${n}`;
      const rec = {
        cmid, user: u.i, sender: u.id, conv: conv.id, content: `chaos ${cmid}`,
        first: Math.random() < 0.5 ? 'socket' : 'rest', attempts: [], started: now(),
      };
      sends.push(rec);
      await deliver(c, rec);
      const [lo, hi] = o.thinkMs;
      await sleep(lo + Math.random() * (hi - lo));
    }
  }

  const ctx = {
    t0,
    base,
    // The clients: {user, socket, transport ('websocket', 'polling',
    // 'polling+websocket'), ...}, for faults that pick their victim.
    clients,
    at: (ms) => sleep(Math.max(0, t0 + ms - now())),
    fault(label, start, end = start) { faults.push({ label, start, end }); log(`fault: ${label}`); },
    note(text) { notes.push(text); log(text); },
  };
  // /api/health every 500 ms while the traffic runs: its changes go to
  // the notes (what a load balancer or an operator would have seen), at
  // the time each answer came.
  const health = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = now();
      let h;
      try {
        const r = await http(base, 'GET', '/api/health', { timeoutMs: 5000 });
        h = `${r.status} ${r.body && r.body.status}`;
      } catch (e) {
        h = errorKind(e);
      }
      if (!health.length || health[health.length - 1].h !== h) health.push({ at: now(), h });
      await sleep(Math.max(0, 500 - (now() - at)));
    }
  })();
  log(`traffic for ${o.trafficMs / 1000} s`);
  let faultError;
  const faultRun = (o.fault ? o.fault(ctx) : Promise.resolve()).catch((e) => { faultError = e; });
  await Promise.all(clients.map(userLoop));
  await faultRun;
  sampling = false;
  await sampler;
  if (health.length > 1 || (health[0] && health[0].h !== '200 ok')) {
    notes.push(`health: ${health.map((x) => `${x.h} at +${((x.at - t0) / 1000).toFixed(1)} s`).join(' → ')}`);
  }
  if (faultError) throw faultError;
  const doneAt = now();
  log(`traffic over: ${sends.length} sends, the last acknowledged ${((doneAt - trafficEnd) / 1000).toFixed(1)} s after the end`);

  // --- settle, reconnect, catch up ---------------------------------------
  await sleep(o.settleMs);
  const lostSocket = clients.filter((c) => c.disconnects.length > c.disconnectsBefore || !c.socket.connected);
  try {
    await until('every socket reconnected', () => clients.every((c) => c.socket.connected), o.reconnectMs);
  } catch {
    for (const c of clients) {
      if (!c.socket.connected) {
        c.forced = true;
        c.socket.connect();
      }
    }
    await until('every socket reconnected (told to)', () => clients.every((c) => c.socket.connected), o.reconnectMs)
      .catch((e) => problems.push(`hang: ${e.message}: users ${clients.filter((c) => !c.socket.connected).map((c) => c.user.i).join(', ')}`));
  }
  await sleep(1000);

  let caughtUp = 0;
  for (const c of clients) {
    for (const conv of c.user.convs) {
      const have = new Set();
      for (const v of c.live.values()) if (v.conv === conv.id) have.add(v.seq);
      let after = 0;
      while (have.has(after + 1)) after += 1;
      for (;;) {
        const r = await until(`catch-up of user ${c.user.i}`, async () => {
          const x = await http(base, 'GET', `/api/conversations/${conv.id}/messages?afterSeq=${after}&limit=100`, { token: c.user.token });
          return x.status === 200 ? x.body : null;
        }, 60000);
        for (const m of r.messages) {
          if (!c.live.has(m._id) && !c.caught.has(m._id)) {
            c.caught.set(m._id, { seq: m.seq, conv: conv.id });
            caughtUp += 1;
          }
          after = Math.max(after, m.seq);
        }
        if (r.messages.length < 100) break;
      }
    }
  }

  // --- the books -------------------------------------------------------
  const mongo = new MongoClient(o.mongoUri, { serverSelectionTimeoutMS: 60000 });
  await mongo.connect();
  const rows = [];
  try {
    const coll = mongo.db().collection('messages');
    for (const conv of convs) {
      const got = await coll.find({ conversationId: new ObjectId(conv.id) })
        .project({ _id: 1, seq: 1, clientMessageId: 1, senderId: 1, content: 1 }).toArray();
      for (const r of got) rows.push({ ...r, _id: r._id.toHexString(), conv: conv.id, senderId: String(r.senderId) });
    }
  } finally {
    await mongo.close();
  }

  const byCmid = new Map();
  for (const r of rows) byCmid.set(r.clientMessageId, [...(byCmid.get(r.clientMessageId) || []), r]);
  const sendByCmid = new Map(sends.map((s) => [s.cmid, s]));
  const acked = sends.filter((s) => s.acked);
  const storedTwice = [...byCmid.entries()].filter(([, v]) => v.length > 1);
  for (const [cmid, v] of storedTwice) {
    problems.push(`stored twice: clientMessageId ${cmid} as ${v.map((r) => `${r._id} (seq ${r.seq})`).join(', ')}`);
  }
  const foreignRows = rows.filter((r) => !sendByCmid.has(r.clientMessageId));
  for (const r of foreignRows) problems.push(`a stored message nobody sent: ${r._id} (${r.clientMessageId})`);
  const lostAcked = acked.filter((s) => !byCmid.has(s.cmid));
  for (const s of lostAcked) {
    problems.push(`lost: ${s.cmid} acknowledged (${s.acked.status}, ${s.acked.id}) at +${((s.acked.at - t0) / 1000).toFixed(1)} s, not stored`);
  }
  const idMismatch = acked.filter((s) => byCmid.has(s.cmid) && !byCmid.get(s.cmid).some((r) => r._id === s.acked.id));
  for (const s of idMismatch) {
    problems.push(`acknowledged as ${s.acked.id} but stored as ${byCmid.get(s.cmid).map((r) => r._id).join(', ')}: ${s.cmid}`);
  }
  const storedUnacked = sends.filter((s) => !s.acked && byCmid.has(s.cmid)).length;
  const gaveUp = sends.filter((s) => s.gaveUp);
  if (gaveUp.length) problems.push(`hang: ${gaveUp.length} sends still failing ${o.retryGraceMs / 1000} s after the traffic ended (first: ${gaveUp[0].cmid}, ${gaveUp[0].attempts.slice(-1)[0].kind})`);

  const seqBad = [];
  const rowsByConv = new Map(convs.map((c) => [c.id, []]));
  for (const r of rows) rowsByConv.get(r.conv).push(r);
  for (const [cid, rs] of rowsByConv) {
    rs.sort((a, b) => a.seq - b.seq);
    const bad = rs.filter((r, i) => r.seq !== i + 1);
    if (bad.length) {
      seqBad.push(cid);
      const seqs = rs.map((r) => r.seq);
      problems.push(`seq of ${cid} is not 1..${rs.length}: first off at index ${rs.indexOf(bad[0])} (${seqs.slice(Math.max(0, rs.indexOf(bad[0]) - 2), rs.indexOf(bad[0]) + 3).join(',')})`);
    }
  }
  const storedIds = new Map(rows.map((r) => [r._id, r]));

  // Deliveries.
  let duplicates = 0;
  let missingAtMembers = 0;
  let phantoms = 0;
  let liveMisses = 0;
  const stayed = clients.filter((c) => !lostSocket.includes(c));
  for (const c of clients) {
    duplicates += c.dups.length;
    for (const d of c.dups.slice(0, 5)) {
      problems.push(`duplicate: user ${c.user.i} (${c.transport}) got new_message ${d.id} (seq ${d.seq} of ${d.conv}) twice, ${d.again - d.first} ms apart`);
    }
    if (c.dups.length > 5) problems.push(`duplicate: user ${c.user.i}: ${c.dups.length - 5} more`);
    const known = new Set([...c.live.keys(), ...c.caught.keys()]);
    for (const id of known) {
      if (!storedIds.has(id)) {
        phantoms += 1;
        problems.push(`user ${c.user.i} got message ${id}, which is not stored`);
      }
    }
    for (const conv of c.user.convs) {
      const missing = rowsByConv.get(conv.id).filter((r) => !known.has(r._id));
      missingAtMembers += missing.length;
      if (missing.length) {
        problems.push(`lost at a member: user ${c.user.i} lacks ${missing.length} of ${conv.id} after catch-up (seq ${missing.slice(0, 5).map((r) => r.seq).join(',')})`);
      }
    }
  }
  const missed = new Set();
  for (const c of stayed) {
    for (const s of acked) {
      if (!s.announced || !c.memberOf.has(s.conv) || c.live.has(s.acked.id)) continue;
      missed.add(`${c.user.i} ${s.acked.id}`);
      liveMisses += 1;
      if (liveMisses <= 5) {
        problems.push(`live miss: user ${c.user.i} (${c.transport}, never disconnected) did not get ${s.acked.id} (${s.cmid}, seq ${s.acked.seq}, acknowledged ${s.acked.status} at +${((s.acked.at - t0) / 1000).toFixed(1)} s) live`);
      }
    }
  }
  // A stored message some client that stayed connected got live, every
  // other member that stayed connected must have got live too (it was
  // announced to the room). One none of them got live was never
  // announced: noted with its sends' history (members only get it by a
  // catch-up, and only notice it is missing when a later message comes).
  const unannounced = [];
  for (const r of rows) {
    const watchers = stayed.filter((c) => c.memberOf.has(r.conv));
    const got = watchers.filter((c) => c.live.has(r._id));
    if (!watchers.length) continue;
    if (!got.length) {
      unannounced.push(r);
      continue;
    }
    for (const c of watchers) {
      if (c.live.has(r._id) || missed.has(`${c.user.i} ${r._id}`)) continue;
      liveMisses += 1;
      if (liveMisses <= 5) {
        problems.push(`live miss: user ${c.user.i} (${c.transport}, never disconnected) did not get ${r._id} (seq ${r.seq} of ${r.conv}) live, users ${got.map((x) => x.user.i).join(',')} did`);
      }
    }
  }
  if (liveMisses > 5) problems.push(`live miss: ${liveMisses - 5} more`);
  const rel = (t) => `+${((t - t0) / 1000).toFixed(1)} s`;
  for (const r of unannounced.slice(0, 5)) {
    const sd = sendByCmid.get(r.clientMessageId);
    notes.push(`never announced: ${r._id} (seq ${r.seq} of ${r.conv}), stored, no member that stayed connected got it live; its sends: ` +
      (sd ? sd.attempts.map((a) => `${a.channel} ${rel(a.t0)}→${a.t1 ? rel(a.t1) : '?'} ${a.ok ? a.status : a.kind}`).join(', ') : 'none'));
  }
  if (unannounced.length > 5) notes.push(`never announced: ${unannounced.length - 5} more`);
  for (const f of foreign.slice(0, 10)) {
    problems.push(`foreign event: user ${f.user} got ${f.event} of ${f.conversationId || `user ${f.userId}`} at +${((f.at - t0) / 1000).toFixed(1)} s`);
  }
  if (foreign.length > 10) problems.push(`foreign event: ${foreign.length - 10} more`);

  // Unread counts and conversation heads.
  let unreadChecked = 0;
  let unreadOk = 0;
  let headsOk = 0;
  for (const conv of convs) {
    const rs = rowsByConv.get(conv.id);
    for (const m of conv.members) {
      const want = rs.filter((r) => r.senderId !== m.id).length;
      const r = await until('unread-count', async () => {
        const x = await http(base, 'GET', `/api/conversations/${conv.id}/unread-count`, { token: m.token });
        return x.status === 200 ? x.body : null;
      }, 60000);
      unreadChecked += 1;
      if (r.unreadCount === want) unreadOk += 1;
      else problems.push(`unread: user ${m.i} in ${conv.id} has unreadCount ${r.unreadCount}, the messages of others are ${want}`);
    }
    const newest = rs[rs.length - 1];
    const r = await until('conversation', async () => {
      const x = await http(base, 'GET', `/api/conversations/${conv.id}`, { token: conv.members[0].token });
      return x.status === 200 ? x.body : null;
    }, 60000);
    const lastMessage = typeof r.lastMessage === 'object' && r.lastMessage ? r.lastMessage.content : r.lastMessage;
    const lastId = r.lastMessageId && typeof r.lastMessageId === 'object' ? r.lastMessageId._id : r.lastMessageId;
    const seqOk = r.seq === (newest ? newest.seq : 0);
    const lastOk = !newest || (lastMessage === newest.content && (lastId === undefined || lastId === newest._id));
    if (seqOk && lastOk) headsOk += 1;
    else {
      problems.push(`head of ${conv.id}: seq ${r.seq}, lastMessage ${JSON.stringify(lastMessage)} (${lastId}); newest stored: seq ${newest && newest.seq}, ${JSON.stringify(newest && newest.content)} (${newest && newest._id})`);
    }
  }
  const late = foreign.length;
  const reasons = clients.flatMap((c) => c.disconnects.slice(c.disconnectsBefore).map((d) => d.reason))
    .reduce((m, r) => ({ ...m, [r]: (m[r] || 0) + 1 }), {});
  for (const c of clients) c.socket.close();
  if (foreign.length !== late) problems.push('foreign event while closing');

  // Recovery after each fault: the first success, and the last failure,
  // from the moment the fault was over (until the next fault).
  const attempts = sends.flatMap((s) => s.attempts.filter((a) => a.t1));
  const failures = attempts.filter((a) => !a.ok);
  faults.sort((a, b) => a.end - b.end);
  const recovery = faults.map((f, i) => {
    const next = i + 1 < faults.length ? faults[i + 1].start : Infinity;
    const oks = attempts.filter((a) => a.ok && a.t1 >= f.end && a.t1 < next).map((a) => a.t1);
    const errs = failures.filter((a) => a.t1 >= f.start && a.t1 < next).map((a) => a.t1);
    const after = errs.filter((t) => t >= f.end);
    // Conversations whose sends kept failing more than 2 s after the end.
    const stalled = {};
    for (const s of sends) {
      for (const a of s.attempts) {
        if (a.t1 && !a.ok && a.t1 >= f.end + 2000 && a.t1 < next) {
          stalled[s.conv] = Math.max(stalled[s.conv] || 0, (a.t1 - f.end) / 1000);
        }
      }
    }
    return {
      label: f.label,
      atS: (f.start - t0) / 1000,
      durationS: (f.end - f.start) / 1000,
      firstOkS: oks.length ? (Math.min(...oks) - f.end) / 1000 : null,
      lastErrorS: after.length ? (Math.max(...after) - f.end) / 1000 : null,
      errors: errs.length,
      okDuring: attempts.filter((a) => a.ok && a.t1 >= f.start && a.t1 < f.end).length,
      stalled,
    };
  });
  const errorKinds = {};
  for (const a of failures) errorKinds[a.kind] = (errorKinds[a.kind] || 0) + 1;
  const latencies = acked.map((s) => s.acked.at - s.started).sort((a, b) => a - b);

  return {
    name: o.name,
    trafficS: o.trafficMs / 1000,
    sent: sends.length,
    acknowledged: acked.length,
    acknowledged201: acked.filter((s) => s.acked.status === 201).length,
    acknowledged200: acked.filter((s) => s.acked.status === 200).length,
    acknowledgedSocket: acked.filter((s) => s.acked.status === 'ack').length,
    retried: sends.filter((s) => s.attempts.length > 1).length,
    failedAttempts: failures.length,
    errorKinds,
    gaveUp: gaveUp.length,
    stored: rows.length,
    storedAckedOnce: acked.filter((s) => (byCmid.get(s.cmid) || []).length === 1).length,
    storedTwice: storedTwice.length,
    storedUnacked,
    foreignRows: foreignRows.length,
    seqOk: seqBad.length === 0,
    conversations: convs.length,
    duplicates,
    lostAcked: lostAcked.length,
    missingAtMembers,
    phantoms,
    liveMisses,
    unannounced: unannounced.length,
    foreign: foreign.length,
    clients: clients.length,
    lostSocket: lostSocket.length,
    forcedReconnects: clients.filter((c) => c.forced).length,
    disconnectReasons: reasons,
    caughtUp,
    events: clients.reduce((m, c) => {
      for (const [k, n] of Object.entries(c.events)) m[k] = (m[k] || 0) + n;
      return m;
    }, {}),
    unreadChecked,
    unreadOk,
    headsOk,
    recovery,
    p50AckMs: latencies.length ? latencies[Math.floor(latencies.length / 2)] : null,
    maxAckMs: latencies.length ? latencies[latencies.length - 1] : null,
    connectedAt,
    notes,
    problems,
  };
}
