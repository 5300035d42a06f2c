// Shared helpers for the e2e suites: HTTP calls against the real server
// started by scripts/test (BASE_URL), users, and socket clients.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { io } from 'socket.io-client';

export const BASE = process.env.BASE_URL || 'http://127.0.0.1:3001';

let seq = 0;
export function unique(prefix = 'u') {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid}${seq}`;
}

// api('POST', '/api/auth/login', {body, token, headers, raw})
export async function api(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(BASE + path, { method, headers, body });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, body: json };
}

// A fresh registered user: {id, token, refreshToken, email, password, user}
export async function newUser(extra = {}) {
  const email = `${unique('user')}@test.lnk`;
  const password = 'secret123';
  const name = extra.name || `User ${unique('n')}`;
  const reg = await api('POST', '/api/auth/register', {
    body: { name, email, password, ...extra },
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  const login = await api('POST', '/api/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`);
  return {
    id: login.body.user._id,
    name,
    email,
    password,
    token: login.body.accessToken,
    refreshToken: login.body.refreshToken,
    user: login.body.user,
  };
}

// Connect to /chat. Resolves with the socket once connected.
export function connect(token, opts = {}) {
  const socket = io(`${BASE}/chat`, {
    auth: token === undefined ? undefined : { token },
    forceNew: true,
    reconnection: false,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), 5000);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('connect_error', (err) => { clearTimeout(timer); socket.close(); reject(err); });
  });
}

// Resolves with the next `event` on socket (or rejects after ms).
export function once(socket, event, ms = 3000, filter = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timeout waiting for ${event}`));
    }, ms);
    function on(...args) {
      if (!filter(...args)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(args.length > 1 ? args : args[0]);
    }
    socket.on(event, on);
  });
}

// Collects every `event` on socket into an array.
export function collect(socket, event) {
  const got = [];
  socket.on(event, (d) => got.push(d));
  return got;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP port nobody listens on right now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts connections on port (10 s at most).
export async function waitPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

// The pids of the server's Kore workers, sorted: the children of the
// Kore parent (KORE_PID, exported by scripts/test). A worker that died is
// restarted under a new pid.
export function workerPids() {
  const parent = process.env.KORE_PID;
  if (!parent) throw new Error('KORE_PID is not set (scripts/test exports it)');
  const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
    .trim().split(/\s+/).filter(Boolean);
  return kids.filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('[wrk'); } catch { return false; }
  }).map(Number).sort((a, b) => a - b);
}
