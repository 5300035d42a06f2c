// Shared helpers for the e2e suites: HTTP calls against the real server
// started by scripts/test (BASE_URL), users, and socket clients.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

export const BASE = process.env.BASE_URL || 'http://127.0.0.1:3001';

let seq = 0;
export function unique(prefix = 'u') {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid}${seq}`;
}

// api('POST', '/api/auth/login', {body, token, headers, raw, base})
// (base: another server than BASE, e.g. one from startServer)
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
  const res = await fetch((opts.base || BASE) + path, { method, headers, body });
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

// Connect to /chat of base (or opts.base; default BASE). Resolves with
// the socket once connected.
export function connect(token, opts = {}, base = opts.base || BASE) {
  const { base: _, ...rest } = opts;
  const socket = io(`${base}/chat`, {
    auth: token === undefined ? undefined : { token },
    forceNew: true,
    reconnection: false,
    ...rest,
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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// A server of the test's own in the server mode (KORE_CONF: 2 workers):
// the same build, databases and JWT secret as the one under test, with
// env on top of the suite's (other limits, a Redis of its own), for tests
// that kill its workers or need other settings. Its log goes to
// LNK_TEST_RUN; scripts/test stops what a crashed test left behind.
// Resolves with {base, pid, logPath, log(), workers(), stop()}.
export async function startServer(env = {}) {
  const port = await freePort();
  const dir = process.env.LNK_TEST_RUN || os.tmpdir();
  const logPath = path.join(dir, `kore-${port}.log`);
  const log = fs.openSync(logPath, 'w');
  // Own session: Kore may signal its whole process group.
  const child = spawn('kore', ['-fnrc', process.env.KORE_CONF], {
    cwd: ROOT,
    env: { ...process.env, PUBLIC_URL: `http://127.0.0.1:${port}`, ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const pidFile = process.env.LNK_TEST_RUN && path.join(dir, `kore-${port}.pid`);
  if (pidFile) fs.writeFileSync(pidFile, `${child.pid}\n`);
  const readLog = () => { try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const stop = () => new Promise((resolve) => {
    if (pidFile) fs.rmSync(pidFile, { force: true });
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    try { process.kill(-child.pid, 'SIGTERM'); } catch { resolve(); }
  });
  const exited = new Promise((resolve) => { child.once('exit', () => resolve('exited')); });
  const up = await Promise.race([waitPort(port).then(() => 'up', () => 'timeout'), exited]);
  if (up !== 'up') {
    await stop();
    throw new Error(`kore did not start (${up}): ${readLog()}`);
  }
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid,
    logPath,
    log: readLog,
    // Its worker processes (the Kore parent's children): [{pid, id}],
    // id from the title Kore gives them ("kore [wrk 2]").
    workers() {
      let pids;
      try {
        pids = execFileSync('pgrep', ['-P', String(child.pid)]).toString().split('\n')
          .filter(Boolean).map(Number);
      } catch {
        return [];
      }
      return pids.map((pid) => {
        let title = '';
        try { title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
        const m = /\[wrk (\d+)\]/.exec(title);
        return { pid, id: m ? Number(m[1]) : 0 };
      });
    },
    stop,
  };
}

// The pid of the server process (the Kore worker) holding the connection
// of a socket on the websocket transport, from ss(8); base: its server.
export function serverPidOf(socket, base = BASE) {
  const ws = socket.io.engine.transport.ws;
  const local = ws && ws._socket && ws._socket.localPort;
  if (!local) throw new Error('not on the websocket transport');
  const out = execFileSync('ss', ['-tnpH', 'state', 'established',
    `( sport = :${new URL(base).port} and dport = :${local} )`]).toString();
  const m = out.match(/pid=(\d+)/);
  return m ? Number(m[1]) : null;
}

// Sockets from open() (websocket transport) until they sit on two
// different workers. Kore's accept lock goes to whichever worker runs
// first, so an idle worker can take connection after connection: this
// opens them four at once (a worker busy with some leaves the others to
// its peer), up to 12 times with a pause between, and keeps at most two
// per worker, closing the rest (a user may hold MAX_SOCKETS_PER_USER).
// Resolves with {all, byPid: Map(pid → sockets)}.
export async function onTwoWorkers(open, base = BASE) {
  const byPid = new Map();
  for (let i = 0; i < 12 && byPid.size < 2; i++) {
    for (const s of await Promise.all([open(), open(), open(), open()])) {
      const pid = serverPidOf(s, base);
      const list = byPid.get(pid) || [];
      if (list.length < 2) byPid.set(pid, [...list, s]);
      else s.close();
    }
    if (byPid.size < 2) await sleep(200);
  }
  if (byPid.size < 2) throw new Error('all sockets landed on one worker');
  return { all: [...byPid.values()].flat(), byPid };
}

// A Redis of the test's own, for a startServer() whose counters must not
// mix with the suite's. Resolves {port, stop}.
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const pidFile = process.env.LNK_TEST_RUN && `${process.env.LNK_TEST_RUN}/redis-${port}.pid`;
  if (pidFile) fs.writeFileSync(pidFile, `${child.pid}\n`);
  const stop = () => new Promise((resolve) => {
    if (pidFile) fs.rmSync(pidFile, { force: true });
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  await waitPort(port);
  return { port, stop };
}

// startServer(env) is expected to fail: resolves with kore's output (a
// server that started after all is stopped, and the call rejects).
// Debian's headless Chromium through playwright-core, or null when it is
// not installed (CHROMIUM names another binary).
export async function launchChromium() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) return null;
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Kore on the suite's configuration with only env (and PATH), for tests
// of start-up: resolves {code, out} when it exits, or {code: 'timeout'}
// (killed) if it is still running after 10 s.
export function startKore(env) {
  return new Promise((resolve) => {
    const child = spawn('kore', ['-fnrc', process.env.KORE_CONF], {
      env: { PATH: process.env.PATH, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      resolve({ code: 'timeout', out });
    }, 10000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

export async function startFails(env) {
  const r = await startServer(env).catch((err) => err);
  if (!(r instanceof Error)) {
    await r.stop();
    throw new Error(`started with ${JSON.stringify(env)}`);
  }
  return r.message;
}

// The pids of the server's Kore workers, sorted: the children of the
// Kore parent (KORE_PID, exported by scripts/test). A worker that died is
// restarted under a new pid.
export function workerPids() {
  const parent = process.env.KORE_PID;
  if (!parent) throw new Error('KORE_PID is not set (scripts/test exports it)');
  const kids = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
    .trim().split(/\s+/).filter(Boolean);
  return kids.filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('[wrk'); } catch { return false; }
  }).map(Number).sort((a, b) => a - b);
}
