// The final table of `make bench-messages` (markdown, on stdout), from the
// results `loadgen messages` appended to results.jsonl:
//   node report.mjs --results FILE --meta FILE [--workers N --placement TEXT
//       --seconds N --seed-seconds N]
// Ratio: lnk-chat / baseline for rates, baseline / lnk-chat for latencies
// (p99), so > 1 always means lnk-chat is better. "meets" is lnk-chat's
// value against the target.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: {
	results: { type: 'string' }, meta: { type: 'string' },
	workers: { type: 'string', default: '' }, placement: { type: 'string', default: '' },
	seconds: { type: 'string', default: '' }, 'seed-seconds': { type: 'string', default: '' },
	baseline: { type: 'string', default: '' }, notes: { type: 'string', default: '' },
} });

const results = readFileSync(opt.results, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l));
const meta = JSON.parse(readFileSync(opt.meta, 'utf8'));
const get = (row, target) => results.find((r) => r.row === row && r.target === target);
const n = (v, d = 0) => (v === undefined || v === null ? '–' :
    Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ms = (v) => (v === undefined ? '–' : v < 10 ? n(v, 2) : v < 100 ? n(v, 1) : n(v, 0));
const sz = meta.sizes;

// Problems a reader must see next to a value.
function issues(m) {
	const out = [];
	for (const [k, label] of [['failed_acks', 'failed acks'], ['lost_acks', 'lost acks'],
	    ['undelivered', 'undelivered'], ['errors', 'errors'], ['dead_sockets', 'dead sockets']]) {
		if (m[k])
			out.push(`${n(m[k])} ${label}`);
	}
	return out.length ? ` (${out.join(', ')})` : '';
}

const rate = (key, unit) => ({
	show: (m) => `${n(m[key])} ${unit}`,
	value: (m) => m[key],
	better: 'higher',
});
const lat = {
	show: (m) => `p50 ${ms(m.p50_ms)} / p99 ${ms(m.p99_ms)} ms`,
	value: (m) => m.p99_ms,
	better: 'lower',
};

const rows = [
	{ row: 'group_throughput', what: `socket send_message into a 50-member group, 100 sockets, ` +
	    `stored and delivered (closed loop)`,
	  ...rate('messages_per_s', 'msg/s'),
	  show: (m) => `${n(m.messages_per_s)} msg/s, ${n(m.deliveries_per_s)} deliveries/s`,
	  target: '≥ 1,000 msg/s (≥ 100,000 deliveries/s)',
	  meets: (m) => m.messages_per_s >= 1000 && m.deliveries_per_s >= 100000 &&
	      !m.failed_acks && !m.lost_acks && !m.undelivered },
	{ row: 'group_latency', what: 'group send → new_message at another member, open loop',
	  ...lat, show: (m) => `${lat.show(m)} at ${n(m.rate)} msg/s`,
	  target: 'p99 ≤ 50 ms at 200 msg/s',
	  meets: (m) => m.p99_ms <= 50 && m.rate >= 190 && !m.lost_acks && !m.failed_acks },
	{ row: 'pairs_throughput', what: `the same into ${n(sz.pairs)} direct conversations at once ` +
	    `(${n(2 * sz.pairs)} sockets)`,
	  ...rate('messages_per_s', 'msg/s'), target: '≥ 2,000 msg/s stored and delivered',
	  meets: (m) => m.messages_per_s >= 2000 && !m.failed_acks && !m.lost_acks && !m.undelivered },
	{ row: 'rest_send', what: `REST send, ${n(sz.rest)} clients each in its own conversation`,
	  ...rate('per_s', '/s'), show: (m) => `${n(m.per_s)}/s, p50 ${ms(m.p50_ms)} / p99 ${ms(m.p99_ms)} ms`,
	  target: '≥ 1,000/s, p99 ≤ 50 ms, 0 errors',
	  meets: (m) => m.per_s >= 1000 && m.p99_ms <= 50 && !m.errors },
	{ row: 'page_newest', what: `newest page of the ${n(meta.big.seq)}-message conversation (?limit=50)`,
	  ...lat, target: 'p99 ≤ 20 ms', meets: (m) => m.p99_ms <= 20 && !m.errors },
	{ row: 'page_deep', what: null, ...lat, target: 'p99 ≤ 30 ms',
	  meets: (m) => m.p99_ms <= 30 && !m.errors },
	{ row: 'page_straddle', what: null, ...lat, target: 'p99 ≤ 30 ms (as the page above; not in the issue)',
	  meets: (m) => m.p99_ms <= 30 && !m.errors },
	{ row: 'page_after', what: 'afterSeq catch-up of 50 (?afterSeq=<seq - 50>&limit=50)',
	  ...lat, target: 'p99 ≤ 20 ms', meets: (m) => m.p99_ms <= 20 && !m.errors },
	{ row: 'connect', what: `socket connect (auth + join rooms), user in ${meta.connect.conversations} conversations`,
	  ...lat, target: 'p99 ≤ 20 ms', meets: (m) => m.p99_ms <= 20 && !m.errors },
];

const out = [];
out.push('## bench-messages: lnk-chat vs the Node baseline (socket.io 4.8 + mongodb driver)');
out.push('');
out.push(`Dataset: ${n(sz.messages)} messages in ${n(sz.conversations)} conversations of ` +
    `${n(sz.users)} users (+ ${n(sz.totalUsers - sz.users)} bench users), ${n(sz.big)} in the big one; ` +
    `seeded in ${n(meta.seedSeconds)} s` +
    (opt['seed-seconds'] ? ` (this run, ${opt['seed-seconds']} s with start and stop)` : ' (cached)') +
    `. FerretDB v1.24 on PostgreSQL, shared by both servers. Kore ${opt.workers} worker(s); ` +
    `${opt.placement}.` + (opt.baseline ? ` Baseline: ${opt.baseline}.` : '') +
    (opt.seconds ? ` Whole run: ${opt.seconds} s.` : ''));
out.push('');
out.push('| row | lnk-chat | baseline | ratio | target | meets |');
out.push('|---|---|---|---|---|---|');
for (const r of rows) {
	const l = get(r.row, 'lnk');
	const b = get(r.row, 'node');
	if (!l && !b)
		continue;
	let what = r.what;
	if (what === null) {
		const m = (l || b).metrics;
		what = r.row === 'page_straddle' ?
		    `the same 25 messages later, across two buckets (?${m.query})` :
		    `${n(m.pages_back)} pages back by cursor (?${m.query})`;
	}
	const cell = (x) => (x ? r.show(x.metrics) + issues(x.metrics) : '–');
	let ratio = '–';
	if (l && b) {
		const lv = r.value(l.metrics);
		const bv = r.value(b.metrics);
		const q = r.better === 'higher' ? lv / bv : bv / lv;
		if (Number.isFinite(q) && q > 0)
			ratio = `${q >= 10 ? n(q, 0) : n(q, q >= 1 ? 1 : 2)}x`;
	}
	const meets = l ? (r.meets(l.metrics) ? 'yes' : 'no') : '–';
	out.push(`| ${what} | ${cell(l)} | ${cell(b)} | ${ratio} | ${r.target} | ${meets} |`);
}
out.push('');
out.push('Ratio: lnk-chat / baseline for rates, baseline / lnk-chat for p99 latencies (> 1: lnk-chat is better).');
out.push('');
out.push('CPU during each row, % of one core (2 cores = 200%; "other processes": the rest of the machine, from /proc/stat):');
out.push('');
out.push('| row | target | server (kore / node) | ferretdb | postgres | redis | load client | other processes |');
out.push('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
	for (const t of ['lnk', 'node']) {
		const x = get(r.row, t);
		if (!x)
			continue;
		const c = x.cpu;
		out.push(`| ${r.row} | ${t} | ${n(c.kore ?? c.node)} | ${n(c.ferretdb)} | ` +
		    `${n(c.postgres)} | ${n(c.redis)} | ${n(c.client)} | ${n(c.other)} |`);
	}
}
let notes = '';
try {
	notes = opt.notes ? readFileSync(opt.notes, 'utf8').trim() : '';
} catch {
	// no notes
}
if (notes) {
	out.push('');
	out.push('Notes:');
	out.push('');
	for (const l of notes.split('\n'))
		out.push(`* ${l}`);
}
const errs = results.filter((r) => r.metrics.first_error);
if (errs.length) {
	out.push('');
	out.push('First error of each row that had one:');
	out.push('');
	for (const r of errs)
		out.push(`* ${r.row} (${r.target}): \`${String(r.metrics.first_error).slice(0, 200).replace(/`/g, "'")}\``);
}
console.log(out.join('\n'));
