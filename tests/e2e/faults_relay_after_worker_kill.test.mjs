// Fault injection: a Kore worker is SIGKILLed while polling clients of
// different users chat in different conversations, and Kore respawns it.
// Polling requests keep being relayed between the two workers; no client
// may ever receive an event of a conversation it is not in, nor the same
// message twice, and everyone can chat again afterwards.
//
// Each test runs a server of its own (startServer), so killing its
// workers disturbs no other suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { io } from 'socket.io-client';
import { api, newUser, sleep, startServer } from './helpers.mjs';

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`);
    await sleep(100);
  }
}

async function direct(a, b) {
  const r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' },
  });
  assert.equal(r.status, 201, r.text);
  return r.body._id;
}

// A send that may land on the dying worker: null when it failed.
async function send(server, user, conv, content) {
  try {
    const r = await api('POST', `/api/conversations/${conv}/messages`, {
      base: server.base, token: user.token, body: { content },
    });
    return r.status === 201 ? r.body : null;
  } catch {
    return null;
  }
}

// SIGKILLs worker id (any when not given); resolves once Kore has
// started another under the same id. Returns the id.
async function killWorker(server, id) {
  const workers = server.workers();
  assert.equal(workers.length, 2, 'two Kore workers');
  const victim = id === undefined ? workers[Math.floor(Math.random() * 2)]
    : workers.find((w) => w.id === id);
  assert.ok(victim && victim.id > 0, `worker ${id} among ${JSON.stringify(workers)}`);
  process.kill(victim.pid, 'SIGKILL');
  await until('the worker respawned', () => {
    const now = server.workers();
    return now.length === 2 && now.every((w) => w.id > 0 && w.pid !== victim.pid);
  });
  return victim.id;
}

test('after a worker is SIGKILLed, no polling client gets another conversation\'s events or a duplicate', async () => {
  const server = await startServer();
  const clients = [];
  const problems = [];
  let sent = 0;

  // A polling-only client that reconnects, recording what it must never see.
  function watch(user, conv) {
    const socket = io(`${server.base}/chat`, {
      auth: { token: user.token },
      forceNew: true,
      transports: ['polling'],
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
    });
    const c = { user, socket, seen: new Map() };
    socket.onAny((event, arg) => {
      const cid = arg && typeof arg === 'object' ? arg.conversationId : undefined;
      if (cid !== undefined && cid !== conv) {
        problems.push(`${user.name} (in ${conv}) got ${event} of ${cid}`);
      }
      if (event === 'new_message') {
        const id = arg.message && arg.message._id;
        const at = Date.now();
        if (c.seen.has(id)) {
          problems.push(`${user.name} got message ${id} twice, ${at - c.seen.get(id)} ms apart`);
        }
        c.seen.set(id, at);
      }
    });
    clients.push(c);
    return c;
  }

  async function pairs(n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const a = await newUser();
      const b = await newUser();
      const conv = await direct(a, b);
      out.push({ a, conv, watchers: [watch(a, conv), watch(b, conv)] });
    }
    await until('clients connected', () => out.every((p) => p.watchers.every((w) => w.socket.connected)));
    return out;
  }

  async function sendIn(p, content) {
    const m = await send(server, p.a, p.conv, content);
    if (m) sent += 1;
    return m;
  }

  // Every watcher of every pair hears a fresh message of its conversation.
  async function everyoneHears(ps, tag) {
    for (const p of ps) {
      const m = await until(`${tag}: a send in ${p.conv}`, () => sendIn(p, `${tag} ${p.conv}`));
      for (const w of p.watchers) {
        await until(`${tag}: ${w.user.name} hears ${m._id}`, () => w.seen.has(m._id));
      }
    }
  }

  try {
    const early = await pairs(8);
    await everyoneHears(early, 'before');

    await killWorker(server);

    // Clients that connect now get relays on the new worker while
    // sessions of the survivor may still point at the dead one.
    const late = await pairs(6);
    const all = [...early, ...late];

    const end = Date.now() + 30000;
    for (let i = 0; Date.now() < end; i++) {
      await sendIn(all[i % all.length], `during ${i}`);
    }

    // The clients of the dead worker are back (reconnected), and all hear.
    const deaf = await everyoneHears(all, 'after').then(() => null, (e) => e);
    assert.deepEqual(problems, []);
    if (deaf) throw deaf;
    assert.ok(sent > 100, `messages flowed (${sent} sent)`);
  } finally {
    for (const c of clients) c.socket.close();
    server.stop();
  }
});

// Engine.IO polling by hand over keep-alive connections whose worker is
// known: Kore hands each new connection to one worker, and the sid of a
// handshake made on it names that worker (its first byte).
function sidWorker(sid) {
  return Buffer.from(sid.replace(/-/g, '+').replace(/_/g, '/'), 'base64')[0];
}

function rawPolling(base) {
  const { port } = new URL(base);
  const agents = [];

  function request(agent, method, sid, body) {
    return new Promise((resolve) => {
      const req = http.request({
        host: '127.0.0.1', port, method, agent,
        path: `/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`,
        headers: body === undefined ? {} : { 'content-type': 'text/plain' },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
        res.on('error', (e) => resolve({ error: String(e) }));
      });
      req.on('error', (e) => resolve({ error: String(e) }));
      req.end(body);
    });
  }

  // A connection (an agent of one socket) that reaches worker w, and the
  // session its first handshake opened there.
  async function conn(w) {
    for (let i = 0; i < 400; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const r = await request(agent, 'GET');
      if (r.status !== 200) continue;
      const sid = JSON.parse(r.body.slice(1)).sid;
      if (sidWorker(sid) === w) return { agent, sid };
      agent.destroy();
    }
    throw new Error(`no connection reached worker ${w}`);
  }

  return {
    conn,
    // A GET or POST on a connection from conn().
    get: (c, sid) => request(c.agent, 'GET', sid),
    post: (c, sid, payload) => request(c.agent, 'POST', sid, payload),
    close() {
      for (const a of agents) a.destroy();
    },
  };
}

// The relay ids of the killed worker's successor start again from 1, as
// did the dead one's: a session whose GET the dead worker relayed must
// not answer the GET the new worker relays under the same id.
test('after a worker is SIGKILLed, a session that polled through it never answers the new worker\'s clients', async () => {
  // No heartbeat in the way: only the events below reach the sessions.
  const server = await startServer({ PING_INTERVAL: '120000', PING_TIMEOUT: '60000' });
  const raw = rawPolling(server.base);
  const OWNER = 1;
  const FRONT = 2;
  try {
    // Chatters: /chat sockets on worker 1 in direct conversations, each
    // with a GET parked through worker 2 (relay ids 1, 2, ... there).
    const chatters = [];
    for (let i = 0; i < 3; i++) {
      const a = await newUser();
      const b = await newUser();
      const conv = await direct(a, b);
      for (const u of [a, b]) {
        const home = await raw.conn(OWNER);
        const r = await raw.post(home, home.sid, `40/chat,${JSON.stringify({ token: u.token })}`);
        assert.equal(r.status, 200, JSON.stringify(r));
        let got = '';
        while (!got.includes('40/chat,')) {
          const g = await raw.get(home, home.sid);
          assert.equal(g.status, 200, JSON.stringify(g));
          got += g.body;
        }
        chatters.push({ user: u, conv, home });
      }
    }
    // Park a GET through worker 2 (again when an event such as the
    // partner coming online answers it).
    for (const c of chatters) {
      for (;;) {
        const via = await raw.conn(FRONT);
        const p = raw.get(via, c.home.sid);
        const r = await Promise.race([p, sleep(500).then(() => null)]);
        if (r === null) {
          c.parked = p;
          break;
        }
        assert.equal(r.status, 200, JSON.stringify(r));
      }
    }

    await killWorker(server, FRONT);
    for (const c of chatters) {
      const r = await c.parked;
      assert.ok(r.error, `the GET relayed by the dead worker died with it: ${JSON.stringify(r)}`);
    }

    // Bystanders: plain Engine.IO sessions on worker 1, in no
    // conversation, whose GETs the new worker 2 relays: relay ids 1, 2, ...
    // again. Nothing of /chat may ever reach them.
    const bystanders = [];
    for (let i = 0; i < 2 * chatters.length; i++) {
      const home = await raw.conn(OWNER);
      const via = await raw.conn(FRONT);
      const b = { sid: home.sid, answers: [] };
      raw.get(via, home.sid).then((r) => { b.answers.push(r); });
      bystanders.push(b);
    }
    await sleep(300);

    // Each conversation gets a message: the chatters' sessions have
    // something to send to the GET they believe parked.
    for (let i = 0; i < chatters.length; i += 2) {
      const c = chatters[i];
      await until(`a send in ${c.conv}`, () => send(server, c.user, c.conv, `to ${c.conv}`));
    }
    await sleep(1500);

    const leaks = bystanders.filter((b) => b.answers.some((r) => r.body && r.body.includes('new_message')));
    assert.deepEqual(leaks.map((b) => `${b.sid} got ${b.answers.map((r) => r.body).join(' | ')}`), []);

    // And the sessions that lost their GET with the dead worker are over.
    for (const c of chatters) {
      const r = await raw.get(c.home, c.home.sid);
      assert.equal(r.status, 400, JSON.stringify(r));
      assert.deepEqual(JSON.parse(r.body), { code: 1, message: 'Session ID unknown' });
    }
  } finally {
    raw.close();
    server.stop();
  }
});
