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

// Worker kill x2: worker ids[0] at `first`, worker ids[1] `gap` later;
// Kore respawns each under the same id. The same worker twice ([1, 1])
// leaves the clients of the other connected the whole time (the live
// delivery check has someone to check) and restarts one id twice (Kore's
// parent then delivers each message to it once more per restart: the
// peer layer must drop two copies); [1, 2] kills each worker once, and
// every client loses its socket.
export function workerKill(server, { first = 8000, gap = 10000, ids = [1, 1] } = {}) {
  return async (ctx) => {
    for (const [n, id] of ids.entries()) {
      await ctx.at(first + n * gap);
      const k = await killWorker(server, id);
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
    title: 'worker kill x2, the same worker (SIGKILL wrk 1 at 8 s and at 18 s)',
    trafficMs: 30000,
    fault: ({ server }) => workerKill(server, { first: 8000, gap: 10000, ids: [1, 1] }),
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
