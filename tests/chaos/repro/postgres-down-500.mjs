// Reproduction: with PostgreSQL down under a running FerretDB, a send
// (REST or socket) is answered 500 "Internal server error" instead of
// 503 "Database unavailable, try again later" (what the same send gets
// with FerretDB down), while /api/health says 503. FerretDB reports the
// backend failure as a command error (code 1), which store_error() maps
// to STORE_ERROR.
//   scripts/chaos tests/chaos/repro/postgres-down-500.mjs
import { setup, sleep, svc, http } from './common.mjs';

const t = await setup('postgres_down_500');
const { base, a, conv } = t;
let bug = false;
try {
  await svc.killPostgres();
  console.log('PostgreSQL killed (postmaster and backends); FerretDB running');
  await sleep(1000);
  const r = await http(base, 'POST', `/api/conversations/${conv}/messages`, { token: a.token, body: { content: 'x' } });
  console.log(`send:   ${r.status} ${r.text}`);
  const me = await http(base, 'GET', '/api/auth/me', { token: a.token });
  console.log(`me:     ${me.status} ${me.text.slice(0, 120)}`);
  const h = await http(base, 'GET', '/api/health');
  console.log(`health: ${h.status} ${h.body && h.body.status}`);
  bug = r.status === 500;
  await svc.startPostgres();
  console.log('PostgreSQL restarted');
  console.log(bug ? 'REPRODUCED: 500 for a database outage' : `not reproduced (${r.status})`);
} finally {
  await t.close();
}
process.exit(bug ? 1 : 0);
