// `make chaos` (scripts/chaos starts the services and exports where they
// are): every scenario of scenarios.mjs on a fresh Kore (2 workers) and
// fresh data (a database of its own, Redis flushed), one after the other.
// Prints the markdown table and writes it, with the details, to
// CHAOS_REPORT (and the books as JSON next to it). Exits 1 when any
// scenario broke an invariant (or the harness could not run it).
//
// CHAOS_SCENARIOS=baseline,worker-kill picks scenarios; CHAOS_TRAFFIC_S
// overrides every scenario's traffic time (the faults keep their times).
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../e2e/helpers.mjs';
import { runScenario } from './harness.mjs';
import { markdown, problemsOf, table } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { alive, services, waitGone } from './services.mjs';

const RUN = process.env.CHAOS_RUN;
const REPORT = process.env.CHAOS_REPORT || path.join(RUN, 'chaos.md');
const svc = services();
// startServer (tests/e2e/helpers.mjs) writes each Kore's log there.
process.env.LNK_TEST_RUN = RUN;
const pick = process.env.CHAOS_SCENARIOS ? process.env.CHAOS_SCENARIOS.split(',') : null;
const scenarios = SCENARIOS.filter((s) => !pick || pick.includes(s.key));
if (pick && scenarios.length !== pick.length) {
  console.error(`unknown scenario in ${pick}; there are ${SCENARIOS.map((s) => s.key).join(', ')}`);
  process.exit(2);
}

const started = new Date();
const say = (m) => console.error(`chaos: ${m}`);

// The services a previous scenario stopped must be back (a failed
// restart would blame the next scenario on the server).
async function servicesUp() {
  for (const name of ['redis', 'postgres', 'ferretdb']) {
    if (!alive(svc[name].pid)) throw new Error(`${name} (pid ${svc[name].pid}) is not running`);
  }
  await svc.waitPort(svc.redis.port);
  await svc.waitPort(svc.ferretdb.port);
}

async function stopServer(server) {
  server.stop();
  try {
    await waitGone([server.pid], 20000);
  } catch {
    try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(path.join(RUN, `kore-${server.pid}.pgid`), { force: true });
}

const results = [];
for (const [n, sc] of scenarios.entries()) {
  say(`scenario ${n + 1}/${scenarios.length}: ${sc.title}`);
  let server;
  let result;
  try {
    await servicesUp();
    svc.redisCli('FLUSHALL');
    const mongoUri = `mongodb://127.0.0.1:${svc.ferretdb.port}/chaos_${n + 1}_${sc.key.replace(/-/g, '_')}`;
    server = await startServer({ MONGODB_URI: mongoUri });
    fs.writeFileSync(path.join(RUN, `kore-${server.pid}.pgid`), `${server.pid}\n`);
    const t = Date.now();
    result = await runScenario({
      name: sc.key,
      base: server.base,
      mongoUri,
      trafficMs: process.env.CHAOS_TRAFFIC_S ? Number(process.env.CHAOS_TRAFFIC_S) * 1000 : sc.trafficMs,
      fault: sc.fault({ server, svc }),
      log: (m) => say(`  [${((Date.now() - t) / 1000).toFixed(1)} s] ${m}`),
    });
    result.kore = server.logPath;
  } catch (e) {
    say(`  harness failed: ${e.stack || e}`);
    result = { name: sc.key, error: String(e.message || e), problems: [] };
  } finally {
    if (server) await stopServer(server);
  }
  result.title = sc.title;
  results.push(result);
  for (const p of problemsOf(result)) say(`  PROBLEM: ${p}`);
  fs.writeFileSync(`${REPORT.replace(/\.md$/, '')}.json`, JSON.stringify(results, null, 2));
}

const header = `# lnk-chat fault injection (make chaos)\n\n` +
  `${started.toISOString()}, 2 Kore workers, ${results[0] && results[0].clients} users ` +
  `(10 direct conversations, one group of 10), FerretDB ${process.env.FERRETDB_VERSION || 'v1.24.2'} on PostgreSQL.\n`;
fs.mkdirSync(path.dirname(REPORT), { recursive: true });
fs.writeFileSync(REPORT, markdown(results, header));
console.log(table(results));
console.log(`\n(details and problems: ${REPORT})`);
process.exit(results.some((r) => problemsOf(r).length) ? 1 : 0);
