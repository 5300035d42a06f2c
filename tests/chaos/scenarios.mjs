// The faults of a chaos run. Each scenario's fault(ctx) runs alongside the
// traffic of runScenario (harness.mjs) on a fresh server (startServer of
// tests/e2e/helpers.mjs) and fresh data; `svc` is services.mjs.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { alive } from './services.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The Kore workers of server, [{pid, id}], like server.workers() but
// without blocking the event loop (the harness times every send while it
// waits for the respawn: a synchronous pgrep every few ms would stall
// them, and the stall would show as the server's).
async function workers(server) {
  const out = await new Promise((resolve) => {
    execFile('pgrep', ['-P', String(server.pid)], (err, stdout) => resolve(err ? '' : stdout));
  });
  const pids = out.split('\n').filter(Boolean).map(Number);
  return Promise.all(pids.map(async (pid) => {
    const title = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const m = /\[wrk (\d+)\]/.exec(title);
    return { pid, id: m ? Number(m[1]) : 0 };
  }));
}

// SIGKILLs Kore worker `id` of server; resolves once Kore has started
// another under the same id, with the kill's time and the respawn's.
export async function killWorker(server, id) {
  const before = await workers(server);
  const victim = before.find((w) => w.id === id);
  if (!victim) throw new Error(`no worker ${id} among ${JSON.stringify(before)}`);
  const at = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  for (;;) {
    const now = await workers(server);
    if (now.some((w) => w.id === id && w.pid !== victim.pid) && !alive(victim.pid)) break;
    if (Date.now() - at > 30000) throw new Error(`worker ${id} was not respawned in 30 s`);
    await sleep(100);
  }
  return { at, pid: victim.pid, respawnMs: Date.now() - at };
}

// The worker pid holding each websocket-only client's connection (ss(8);
// such a client's Engine.IO session lives on the worker that accepted it).
async function websocketPids(clients, base) {
  const port = new URL(base).port;
  const out = await new Promise((resolve) => {
    execFile('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`], (err, stdout) => resolve(err ? '' : stdout));
  });
  const byLocal = new Map();
  for (const line of out.split('\n')) {
    const m = /:(\d+)\s+\S+:(\d+)\s.*pid=(\d+)/.exec(line);
    if (m && m[1] === port) byLocal.set(Number(m[2]), Number(m[3]));
  }
  const pids = [];
  for (const c of clients) {
    const t = c.socket.connected && c.transport === 'websocket' && c.socket.io.engine.transport;
    const local = t && t.ws && t.ws._socket && t.ws._socket.localPort;
    if (local && byLocal.has(local)) pids.push(byLocal.get(local));
  }
  return pids;
}

// Worker kill x2: ids[0] at `first`, ids[1] `gap` later; Kore respawns
// each under the same id. An id is a number, 'fewer' (the worker holding
// fewer of the websocket-only clients: those on the other stay connected
// through both kills, so the live delivery check has clients to check)
// or 'same' (the id killed before: one id restarted twice, and Kore's
// parent then delivers each message to it once more per restart, copies
// the peer layer must drop). [1, 2] kills each worker once: every client
// loses its socket.
export function workerKill(server, { first = 8000, gap = 10000, ids = ['fewer', 'same'] } = {}) {
  return async (ctx) => {
    let prev;
    for (const [n, want] of ids.entries()) {
      await ctx.at(first + n * gap);
      let id = want;
      if (want === 'same') id = prev;
      if (want === 'fewer') {
        const ws = await websocketPids(ctx.clients, ctx.base);
        const ws1 = await workers(server);
        const count = (w) => ws.filter((p) => p === w.pid).length;
        ws1.sort((a, b) => count(a) - count(b) || a.id - b.id);
        id = ws1[0].id;
        ctx.note(`websocket-only clients per worker: ${ws1.map((w) => `wrk ${w.id}: ${count(w)}`).join(', ')}`);
      }
      const k = await killWorker(server, id);
      prev = id;
      ctx.fault(`kill #${n + 1}`, k.at, k.at);
      ctx.note(`kill #${n + 1}: worker ${id} (pid ${k.pid}) SIGKILLed at +${((k.at - ctx.t0) / 1000).toFixed(1)} s, respawned in ${k.respawnMs} ms`);
    }
  };
}

export const SCENARIOS = [
  {
    key: 'baseline',
    title: 'baseline (no fault)',
    trafficMs: 30000,
    fault: () => null,
  },
  {
    key: 'worker-kill',
    title: 'worker kill x2, the same worker (SIGKILL at 8 s and 18 s)',
    trafficMs: 30000,
    fault: ({ server }) => workerKill(server, { first: 8000, gap: 10000, ids: ['fewer', 'same'] }),
  },
  {
    key: 'worker-kill-both',
    title: 'worker kill x2, each worker (SIGKILL wrk 1 at 8 s, wrk 2 at 18 s)',
    trafficMs: 30000,
    fault: ({ server }) => workerKill(server, { first: 8000, gap: 10000, ids: [1, 2] }),
  },
  {
    key: 'redis-restart',
    title: 'Redis restart (stopped at 8 s, started 3 s later)',
    trafficMs: 30000,
    fault: ({ svc }) => async (ctx) => {
      await ctx.at(8000);
      const start = Date.now();
      await svc.stopRedis();
      await sleep(3000);
      await svc.startRedis();
      ctx.fault('Redis up', start, Date.now());
    },
  },
  {
    key: 'ferretdb-kill',
    title: 'FerretDB SIGKILL (at 8 s, restarted 3 s later)',
    trafficMs: 30000,
    fault: ({ svc }) => async (ctx) => {
      await ctx.at(8000);
      const start = Date.now();
      await svc.killFerretdb();
      await sleep(3000);
      await svc.startFerretdb();
      ctx.fault('FerretDB up', start, Date.now());
    },
  },
  {
    key: 'postgres-kill',
    title: 'PostgreSQL SIGKILL, all its processes (at 8 s, restarted 3 s later; FerretDB stays)',
    trafficMs: 30000,
    fault: ({ svc }) => async (ctx) => {
      await ctx.at(8000);
      const start = Date.now();
      await svc.killPostgres();
      await sleep(3000);
      await svc.startPostgres();
      ctx.fault('PostgreSQL up', start, Date.now());
    },
  },
  {
    key: 'db-freeze',
    title: 'database freeze 15 s (SIGSTOP FerretDB and PostgreSQL at 8 s, SIGCONT at 23 s)',
    trafficMs: 35000,
    fault: ({ svc }) => async (ctx) => {
      await ctx.at(8000);
      const start = Date.now();
      const thaw = svc.freezeDatabase();
      try {
        await sleep(15000);
      } finally {
        const pids = thaw();
        ctx.note(`froze ${pids.length} processes (FerretDB, the postmaster and its children) for ${((Date.now() - start) / 1000).toFixed(1)} s`);
      }
      ctx.fault('SIGCONT', start, Date.now());
    },
  },
];
