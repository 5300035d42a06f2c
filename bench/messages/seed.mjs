// The dataset of `make bench-messages` (bench/messages/run), in two steps:
//
//   node seed.mjs dataset --base-url URL --mongo URI --secret S --meta FILE [sizes]
//     seeds an empty lnk-chat database (lnk-chat running on URL) and
//     writes FILE, the ids the bench needs (no tokens: those expire).
//     * users: one template account is registered through the REST API
//       and cloned (the password is hashed once), as bench/lib/seed.mjs
//       does: --users dataset users, plus per target (lnk, node) the
//       members of its group, of its 1,000 direct conversations and its
//       REST clients with their partners;
//     * per target: the group of --group members, --pairs direct
//       conversations and --rest direct conversations. The group and the
//       first --rest-convs (1) direct ones go through POST
//       /api/conversations, so they are exactly what lnk-chat stores; the
//       other direct ones are copies of the first with the ids swapped.
//       Each target sends into its own, so that one server's writes never
//       meet the other's (the Node baseline's seq $inc is not atomic on
//       FerretDB);
//     * the big dataset, inserted with insertMany (--batch documents per
//       call, --parallel calls at once): --conversations direct
//       conversations holding --messages messages, --big of them in
//       conversation 0 (users 1 and 2); user 0, the connect user, is in
//       --connect-convs of them (1..100); the others pair users 3.. .
//   node seed.mjs tokens --meta FILE --secret S --target lnk|node --out SPEC
//     mints access tokens ({sub, id, typ: "access", iat, exp}, HS256) and
//     writes the spec bench/loadgen (`loadgen messages`) reads.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Long, MongoClient, ObjectId } from 'mongodb';
import { remap } from '../lib/remap.mjs';

const { positionals: [cmd], values: opt } = parseArgs({
	allowPositionals: true,
	options: {
		'base-url': { type: 'string' },
		mongo: { type: 'string' },
		meta: { type: 'string' },
		secret: { type: 'string' },
		target: { type: 'string' },
		out: { type: 'string' },
		messages: { type: 'string', default: '1000000' },
		big: { type: 'string', default: '100000' },
		conversations: { type: 'string', default: '10000' },
		users: { type: 'string', default: '20000' },
		'connect-convs': { type: 'string', default: '100' },
		group: { type: 'string', default: '50' },
		pairs: { type: 'string', default: '1000' },
		rest: { type: 'string', default: '50' },
		'rest-convs': { type: 'string', default: '1' },
		targets: { type: 'string', default: 'lnk,node' },
		batch: { type: 'string', default: '2000' },
		parallel: { type: 'string', default: '4' },
	},
});

const say = (...a) => console.error('seed:', ...a);
const hex = (id) => id.toHexString();

// ---- Document builders. The source of truth for these shapes is the
// server: src/store/messages.h and src/store/conversations.h (the header
// comment of each lists a document's fields). A plain text message has
// exactly these fields; absent arrays and maps mean empty.

const BUCKET = 50;

function messageDoc(conv, sender, seq, content, at) {
	const id = new ObjectId();
	return {
		_id: id,
		conversationId: conv,
		senderId: sender,
		content,
		type: 'text',
		seq: Long.fromNumber(seq),
		bucket: `${hex(conv)}:${Math.floor(seq / BUCKET)}`,
		clientMessageId: hex(id),
		createdAt: at,
	};
}

// A direct conversation of a and b holding n messages (a sent the odd
// seqs, b the even ones); last: the message of seq n.
function directDoc(id, a, b, n, last, createdAt) {
	const [lo, hi] = [hex(a), hex(b)].sort();
	return {
		_id: id,
		participants: [a, b],
		type: 'direct',
		directKey: `${lo}:${hi}`,
		isActive: true,
		archivedBy: {},
		deletedBy: {},
		createdAt,
		updatedAt: last ? last.createdAt : createdAt,
		seq: Long.fromNumber(n),
		...(last ? {
			lastMessage: last.content,
			lastMessageId: last._id,
			lastMessageAt: last.createdAt,
		} : { lastMessageAt: createdAt }),
		lastReadSeq: { [hex(a)]: Long.ZERO, [hex(b)]: Long.ZERO },
		sentCounts: { [hex(a)]: Long.fromNumber(Math.ceil(n / 2)),
		    [hex(b)]: Long.fromNumber(Math.floor(n / 2)) },
		ownReadCounts: {},
		skipCounts: {},
	};
}

const content = (i, seq) =>
    `seeded message ${seq} of conversation ${i}: the quick brown fox jumps over the lazy dog`;

// A user: the template registered through REST, with the ids swapped.
function userDoc(tmpl, tid, id, name, tag) {
	const email = `bench-${tag}-${id}@bench.invalid`;
	const now = new Date();
	return { ...remap(tmpl, new Map([[tid, id]])), name, email,
	    emailKey: email, createdAt: now, updatedAt: now };
}


// ---- helpers

async function api(method, path, token, body) {
	for (let attempt = 0; ; attempt++) {
		let res;
		try {
			res = await fetch(opt['base-url'] + path, {
				method,
				headers: { 'content-type': 'application/json',
				    ...(token ? { authorization: `Bearer ${token}` } : {}) },
				body: body ? JSON.stringify(body) : undefined,
			});
		} catch (e) {
			// A pooled keep-alive connection the server just closed.
			if (attempt < 3)
				continue;
			throw e;
		}
		const text = await res.text();
		if (res.status === 503 && attempt < 10) {
			await new Promise((r) => setTimeout(r, 200));
			continue;
		}
		if (res.status >= 300)
			throw new Error(`${method} ${path}: ${res.status} ${text}`);
		return JSON.parse(text);
	}
}

function mint(uid, secret) {
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const iat = Math.floor(Date.now() / 1000);
	const head = b64({ alg: 'HS256', typ: 'JWT' });
	const body = b64({ sub: uid, id: uid, typ: 'access', iat, exp: iat + 86400 });
	const sig = createHmac('sha256', secret).update(`${head}.${body}`)
	    .digest('base64url');
	return `${head}.${body}.${sig}`;
}

// pool: run fn over items, at most n at once.
async function pool(items, n, fn) {
	const out = new Array(items.length);
	let next = 0;
	await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
		while (next < items.length) {
			const i = next++;
			out[i] = await fn(items[i], i);
		}
	}));
	return out;
}

// ---- tokens

if (cmd === 'tokens') {
	const meta = JSON.parse(readFileSync(opt.meta, 'utf8'));
	const t = meta.targets[opt.target];
	if (!t)
		throw new Error(`no target ${opt.target} in ${opt.meta}`);
	const tok = new Map();
	const token = (id) => {
		if (!tok.has(id))
			tok.set(id, mint(id, opt.secret));
		return tok.get(id);
	};
	const member = (id) => ({ id, token: token(id) });
	const spec = {
		group: { conversationId: t.group.id, members: t.group.members.map(member) },
		pairs: t.pairs.map((p) => ({ conversationId: p.id, members: p.members.map(member) })),
		rest: t.rest.map((r) => ({ conversationId: r.id, token: token(r.client) })),
		big: { conversationId: meta.big.id, token: token(meta.big.reader), seq: meta.big.seq },
		connect: { token: token(meta.connect.user), conversations: meta.connect.conversations },
	};
	writeFileSync(opt.out, JSON.stringify(spec));
	process.exit(0);
}

if (cmd !== 'dataset')
	throw new Error('usage: seed.mjs dataset|tokens ...');
if (!opt.secret || !opt['base-url'] || !opt.mongo || !opt.meta)
	throw new Error('dataset: --base-url, --mongo, --secret and --meta are required');

// ---- dataset

const N = Number(opt.messages);
const BIG = Number(opt.big);
const C = Number(opt.conversations);
const U = Number(opt.users);
const K = Number(opt['connect-convs']);
const G = Number(opt.group);
const P = Number(opt.pairs);
const R = Number(opt.rest);
const RC = Number(opt['rest-convs']);
const BATCH = Number(opt.batch);
const PAR = Number(opt.parallel);
const targets = opt.targets.split(',').filter(Boolean);
if (U < 3 + K || C < K + 1 || N < BIG || (C > 1 && N - BIG < C - 1))
	throw new Error('sizes: need users >= 3 + connect-convs, conversations > connect-convs, ' +
	    'and at least one message per conversation');
// Conversations K+1..C-1 pair users 3..U-1 as (a, a + d): distinct while
// d <= (n - 1) / 2.
if (C - K - 1 > (U - 3) * Math.floor((U - 4) / 2))
	throw new Error('sizes: too many conversations for the users');

const t0 = Date.now();
const client = new MongoClient(opt.mongo, { maxPoolSize: PAR + 4 });
await client.connect();
const db = client.db();

// Users: the template, then every clone.
const tag = randomBytes(4).toString('hex');
const tmplEmail = `bench-template-${tag}@bench.invalid`;
await api('POST', '/api/auth/register', null,
    { name: 'bench template', email: tmplEmail, password: 'bench-password' });
const tmpl = await db.collection('users').findOne({ emailKey: tmplEmail },
    { promoteLongs: false });
if (tmpl === null)
	throw new Error('template user not found in the database');
const tid = hex(tmpl._id);

const users = []; // {id: ObjectId, name}
const newUser = (name) => {
	const u = { id: new ObjectId(), name };
	users.push(u);
	return u;
};
const dataset = Array.from({ length: U }, (_, i) => newUser(`bench user ${i}`));
const sets = {};
for (const t of targets) {
	sets[t] = {
		group: Array.from({ length: G }, (_, i) => newUser(`${t} group ${i}`)),
		pairs: Array.from({ length: P }, (_, i) =>
		    [newUser(`${t} pair ${i}a`), newUser(`${t} pair ${i}b`)]),
		rest: Array.from({ length: R }, (_, i) =>
		    [newUser(`${t} rest ${i}`), newUser(`${t} rest ${i} partner`)]),
	};
}
{
	const t = Date.now();
	const batches = [];
	for (let i = 0; i < users.length; i += 1000)
		batches.push(users.slice(i, i + 1000));
	await pool(batches, PAR, (b) => db.collection('users').insertMany(
	    b.map((u) => userDoc(tmpl, tid, hex(u.id), u.name, tag)), { ordered: false }));
	say(`${users.length} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// The conversations the bench sends into, through the REST API.
const meta = { targets: {} };
{
	const t = Date.now();
	const idOf = (c) => c._id || c.id;
	const token = (u) => mint(hex(u.id), opt.secret);
	for (const [name, s] of Object.entries(sets)) {
		const [owner, ...rest] = s.group;
		const group = idOf(await api('POST', '/api/conversations', token(owner), {
			participants: rest.map((u) => hex(u.id)), type: 'group',
			groupName: `bench group (${name})` }));
		// The first --rest-convs direct conversations through the API; the
		// others are copies of the first as lnk-chat stored it, with the
		// ids swapped (POST /api/conversations took ~1.5 s each on
		// FerretDB here, 8 at a time: 2,100 of them would take most of an
		// hour).
		const all = [...s.pairs, ...s.rest];
		const made = await pool(all.slice(0, Math.max(1, RC)), 4, ([a, b]) =>
		    api('POST', '/api/conversations', token(a),
		    { participants: [hex(b.id)], type: 'direct' }).then(idOf));
		const ctmpl = await db.collection('conversations').findOne(
		    { _id: new ObjectId(made[0]) }, { promoteLongs: false });
		const [ta, tb] = all[0].map((u) => hex(u.id));
		const copies = all.slice(made.length).map(([a, b]) => {
			const id = new ObjectId();
			const doc = remap(ctmpl, new Map([[made[0], hex(id)], [ta, hex(a.id)],
			    [tb, hex(b.id)]]));
			doc.directKey = [hex(a.id), hex(b.id)].sort().join(':');
			return doc;
		});
		for (let i = 0; i < copies.length; i += 1000) {
			await db.collection('conversations').insertMany(copies.slice(i, i + 1000),
			    { ordered: false });
		}
		const ids = [...made, ...copies.map((c) => hex(c._id))];
		const pairs = ids.slice(0, s.pairs.length);
		const rests = ids.slice(s.pairs.length);
		meta.targets[name] = {
			group: { id: group, members: s.group.map((u) => hex(u.id)) },
			pairs: pairs.map((id, i) => ({ id, members: s.pairs[i].map((u) => hex(u.id)) })),
			rest: rests.map((id, i) => ({ id, client: hex(s.rest[i][0].id),
			    partner: hex(s.rest[i][1].id) })),
		};
	}
	say(`${targets.length} x (1 group + ${P} + ${R} direct) conversations (through ` +
	    `the REST API: the group and ${Math.max(1, RC)} direct, the rest copies) in ` +
	    `${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// The big dataset.
const T0 = Date.now() - 30 * 86400 * 1000;
const convs = []; // {id, a, b, n}
{
	const n0 = N - BIG;
	const per = C > 1 ? Math.floor(n0 / (C - 1)) : 0;
	const extra = C > 1 ? n0 % (C - 1) : 0;
	const count = (i) => (i === 0 ? BIG : per + (i - 1 < extra ? 1 : 0));
	const m = U - 3;
	for (let i = 0; i < C; i++) {
		let a;
		let b;
		if (i === 0) {
			[a, b] = [dataset[1], dataset[2]];
		} else if (i <= K) {
			[a, b] = [dataset[0], dataset[2 + i]];
		} else {
			const k = i - K - 1;
			const x = k % m;
			const d = 1 + Math.floor(k / m);
			[a, b] = [dataset[3 + x], dataset[3 + ((x + d) % m)]];
		}
		convs.push({ id: new ObjectId(), a: a.id, b: b.id, n: count(i), i });
	}
}
const msgStart = Date.now();
let inserted = 0;
{
	// Batches of messages in conversation order; a conversation's
	// document goes in with the batch that holds its last message.
	const at = (c, seq) => new Date(T0 + seq * 1000 + c.i);
	function* batches() {
		let docs = [];
		let cdocs = [];
		for (const c of convs) {
			let last = null;
			for (let seq = 1; seq <= c.n; seq++) {
				last = messageDoc(c.id, seq % 2 ? c.a : c.b, seq, content(c.i, seq), at(c, seq));
				docs.push(last);
				if (docs.length === BATCH) {
					yield { docs, cdocs };
					docs = [];
					cdocs = [];
				}
			}
			cdocs.push(directDoc(c.id, c.a, c.b, c.n, last, new Date(T0 + c.i)));
		}
		if (docs.length || cdocs.length)
			yield { docs, cdocs };
	}
	const it = batches();
	let lastSay = Date.now();
	await Promise.all(Array.from({ length: PAR }, async () => {
		for (let r = it.next(); !r.done; r = it.next()) {
			const { docs, cdocs } = r.value;
			if (docs.length)
				await db.collection('messages').insertMany(docs, { ordered: false });
			if (cdocs.length)
				await db.collection('conversations').insertMany(cdocs, { ordered: false });
			inserted += docs.length;
			if (Date.now() - lastSay > 15000) {
				lastSay = Date.now();
				const s = (Date.now() - msgStart) / 1000;
				say(`  ${inserted} / ${N} messages (${(inserted / s).toFixed(0)}/s)`);
			}
		}
	}));
}
const msgSecs = (Date.now() - msgStart) / 1000;
say(`${N} messages and ${C} conversations in ${msgSecs.toFixed(1)} s ` +
    `(${(N / msgSecs).toFixed(0)} messages/s, insertMany of ${BATCH}, ${PAR} at once)`);
await client.close();

meta.big = { id: hex(convs[0].id), seq: convs[0].n, reader: hex(dataset[1].id) };
meta.connect = { user: hex(dataset[0].id), conversations: K };
meta.sizes = { messages: N, big: BIG, conversations: C, users: U, group: G, pairs: P, rest: R,
    totalUsers: users.length };
meta.seedSeconds = (Date.now() - t0) / 1000;
meta.messageSeconds = msgSecs;
writeFileSync(opt.meta, JSON.stringify(meta));
say(`dataset seeded in ${meta.seedSeconds.toFixed(1)} s`);
