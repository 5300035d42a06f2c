// The services under a chaos run (started by scripts/chaos with the
// helpers of scripts/lib.sh): Redis, FerretDB and the PostgreSQL under
// it. Faults stop, kill, freeze and restart them; a restarted service is
// started by the same shell helper as at first (one definition of its
// command line) and its pid is recorded in CHAOS_RUN/<name>.pid, where
// scripts/chaos finds it to stop it at the end (also on failure or Ctrl-C).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not yet reaped by its parent) counts as gone.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitGone(pids, ms = 30000) {
  const end = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > end) throw new Error(`still running after ${ms} ms: ${pids.filter(alive).join(' ')}`);
    await sleep(50);
  }
}

// The children of pid (PostgreSQL's backends and helpers).
export function children(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signal(pids, sig) {
  for (const p of pids) {
    try { process.kill(p, sig); } catch { /* gone */ }
  }
}

export async function waitPort(port, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await sleep(100);
  }
}

// Runs a start_* helper of scripts/lib.sh in a shell of its own and
// resolves with the pid it started. The service's output goes to its log
// (the helper's), the shell's to DIR/restart.log: no pipe stays open.
function lib(fn, args, varName, dir) {
  const pidFile = path.join(dir, `restart-${process.pid}.pid`);
  const log = fs.openSync(path.join(dir, 'restart.log'), 'a');
  const script = `. "${ROOT}/scripts/lib.sh" && ${fn} "$@" || exit 1; echo "$${varName}" >"${pidFile}"`;
  const child = spawn('bash', ['-c', script, fn, ...args.map(String)], {
    stdio: ['ignore', log, log], detached: true,
  });
  fs.closeSync(log);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`${fn} ${args.join(' ')} failed (${code}), see ${dir}/restart.log`));
        return;
      }
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      fs.rmSync(pidFile, { force: true });
      resolve(pid);
    });
  });
}

// services(): from the environment scripts/chaos exports.
export function services(env = process.env) {
  const run = env.CHAOS_RUN;
  const s = {
    redis: { port: Number(env.REDIS_PORT), pid: Number(env.REDIS_PID), dir: path.join(run, 'redis') },
    ferretdb: { port: Number(env.MONGO_PORT), pid: Number(env.FERRETDB_PID), dir: path.join(run, 'ferretdb') },
    postgres: { port: Number(env.PG_PORT), pid: Number(env.PG_PID), dir: path.join(run, 'postgres') },
  };
  function record(name, pid) {
    s[name].pid = pid;
    fs.writeFileSync(path.join(run, `${name}.pid`), `${pid}\n`);
  }
  // Every process of the database: FerretDB, the postmaster, its children.
  function dbProcesses() {
    return [s.ferretdb.pid, s.postgres.pid, ...children(s.postgres.pid)].filter(alive);
  }

  return {
    ...s,
    redisCli(...args) {
      return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(s.redis.port), ...args]).toString().trim();
    },
    async stopRedis() {
      signal([s.redis.pid], 'SIGTERM');
      await waitGone([s.redis.pid]);
    },
    async startRedis() {
      record('redis', await lib('start_redis', [s.redis.port, s.redis.dir], 'REDIS_PID', s.redis.dir));
    },
    async killFerretdb() {
      signal([s.ferretdb.pid], 'SIGKILL');
      await waitGone([s.ferretdb.pid]);
    },
    async startFerretdb() {
      record('ferretdb', await lib('start_ferretdb', [s.ferretdb.port, s.postgres.port, s.ferretdb.dir],
        'FERRETDB_PID', s.ferretdb.dir));
    },
    // A crash of PostgreSQL: the postmaster and every backend at once
    // (a postmaster killed alone leaves its backends holding the shared
    // memory, and no new one can start until they go).
    async killPostgres() {
      const pids = [s.postgres.pid, ...children(s.postgres.pid)];
      signal(pids, 'SIGKILL');
      await waitGone(pids);
    },
    // start_postgres waits for pg_isready (crash recovery included) and
    // applies scripts/postgres/ferretdb.sql, as at first.
    async startPostgres() {
      record('postgres', await lib('start_postgres', [s.postgres.port, s.postgres.dir], 'PG_PID', s.postgres.dir));
    },
    // SIGSTOP FerretDB and every PostgreSQL process; resolves with a
    // function that SIGCONTs the same processes.
    freezeDatabase() {
      const pids = dbProcesses();
      signal(pids, 'SIGSTOP');
      fs.writeFileSync(path.join(run, 'frozen.pids'), `${pids.join('\n')}\n`);
      return () => {
        signal(pids, 'SIGCONT');
        fs.rmSync(path.join(run, 'frozen.pids'), { force: true });
        return pids;
      };
    },
    waitPort,
  };
}
