// Seeds the users, conversations and tokens of the benchmarks and writes
//   <out>/seed.json   {room: {conversationId, tokens[]}, pairs: [...], idle: [tokens]}
//   <out>/rooms.json  {<userId>: {name, conversations: [ids]}} for the Node baseline
//
// --mode db: users are inserted straight into lnk-chat's database (a
//   template account is registered once through the REST API and cloned,
//   so the documents have exactly the server's shape; hashing 10,000
//   passwords through /register would take minutes), tokens are minted
//   with JWT_SECRET ({sub, id, typ: "access", iat, exp}, HS256), and the
//   conversations are created through POST /api/conversations so they are
//   whatever lnk-chat stores.
// --mode fake: ids are made up locally (for running the Node baseline
//   alone, before lnk-chat's /chat exists).
//
// Flags: --mode db|fake --out DIR [--base-url URL --mongo URI --secret S]
//        [--room-users 50 --room-sockets 2 --pairs 1000 --idle 10000]
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MongoClient, ObjectId } from 'mongodb';

const { values: opt } = parseArgs({ options: {
	mode: { type: 'string', default: 'fake' },
	out: { type: 'string' },
	'base-url': { type: 'string' },
	mongo: { type: 'string' },
	secret: { type: 'string' },
	'room-users': { type: 'string', default: '50' },
	'room-sockets': { type: 'string', default: '2' },
	pairs: { type: 'string', default: '1000' },
	idle: { type: 'string', default: '10000' },
} });
const roomUsers = Number(opt['room-users']);
const roomSockets = Number(opt['room-sockets']);
const npairs = Number(opt.pairs);
const nidle = Number(opt.idle);
const secret = opt.secret || 'bench-secret';
if (!opt.out)
	throw new Error('--out is required');

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function mint(uid) {
	const iat = Math.floor(Date.now() / 1000);
	const head = b64({ alg: 'HS256', typ: 'JWT' });
	const body = b64({ sub: uid, id: uid, typ: 'access', iat,
	    exp: iat + 86400 });
	const sig = createHmac('sha256', secret).update(`${head}.${body}`)
	    .digest('base64url');
	return `${head}.${body}.${sig}`;
}

async function api(method, path, token, body) {
	const res = await fetch(opt['base-url'] + path, {
		method,
		headers: { 'content-type': 'application/json',
		    ...(token ? { authorization: `Bearer ${token}` } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	if (res.status >= 300)
		throw new Error(`${method} ${path}: ${res.status} ${text}`);
	return JSON.parse(text);
}

// Runs fn over items with at most n in flight.
async function pool(items, n, fn) {
	const out = new Array(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			out[i] = await fn(items[i], i);
		}
	};
	await Promise.all(Array.from({ length: n }, worker));
	return out;
}

const total = roomUsers + 2 * npairs + nidle;
const users = Array.from({ length: total }, (_, i) => ({
	id: new ObjectId().toHexString(),
	name: `bench user ${String(i).padStart(5, '0')}`,
}));
const roomMembers = users.slice(0, roomUsers);
const pairUsers = users.slice(roomUsers, roomUsers + 2 * npairs);
const idleUsers = users.slice(roomUsers + 2 * npairs);
for (const u of users)
	u.token = mint(u.id);

let mongo;
let roomId;
let pairIds;
if (opt.mode === 'db') {
	const tag = randomBytes(4).toString('hex');
	const email = `bench-template-${tag}@bench.invalid`;
	await api('POST', '/api/auth/register', null,
	    { name: 'bench template', email, password: 'bench-password' });
	mongo = new MongoClient(opt.mongo);
	const coll = mongo.db().collection('users');
	const tmpl = await coll.findOne({ emailKey: email });
	if (tmpl === null)
		throw new Error('template user not found in the database');
	const now = new Date();
	for (let i = 0; i < users.length; i += 1000) {
		await coll.insertMany(users.slice(i, i + 1000).map((u) => {
			const e = `bench-${tag}-${u.id}@bench.invalid`;
			return { ...tmpl, _id: new ObjectId(u.id), name: u.name,
			    email: e, emailKey: e, createdAt: now, updatedAt: now };
		}));
	}
	const idOf = (c) => c._id || c.id || c.conversation?._id;
	const [owner, ...rest] = roomMembers;
	roomId = idOf(await api('POST', '/api/conversations', owner.token, {
		participants: rest.map((u) => u.id), type: 'group',
		groupName: 'bench room' }));
	pairIds = await pool(Array.from({ length: npairs }, (_, i) => i), 16,
	    async (i) => idOf(await api('POST', '/api/conversations',
		pairUsers[2 * i].token, { participants: [pairUsers[2 * i + 1].id],
		type: 'direct' })));
	await mongo.close();
} else {
	roomId = new ObjectId().toHexString();
	pairIds = Array.from({ length: npairs },
	    () => new ObjectId().toHexString());
}

const seed = {
	room: { conversationId: roomId,
	    tokens: roomMembers.flatMap((u) => Array(roomSockets).fill(u.token)) },
	pairs: pairIds.map((cid, i) => ({ conversationId: cid,
	    tokens: [pairUsers[2 * i].token, pairUsers[2 * i + 1].token] })),
	idle: idleUsers.map((u) => u.token),
};
const rooms = {};
for (const u of users)
	rooms[u.id] = { name: u.name, conversations: [] };
for (const u of roomMembers)
	rooms[u.id].conversations.push(roomId);
pairIds.forEach((cid, i) => {
	rooms[pairUsers[2 * i].id].conversations.push(cid);
	rooms[pairUsers[2 * i + 1].id].conversations.push(cid);
});

mkdirSync(opt.out, { recursive: true });
writeFileSync(`${opt.out}/seed.json`, JSON.stringify(seed));
writeFileSync(`${opt.out}/rooms.json`, JSON.stringify(rooms));
console.error(`seed: ${users.length} users, 1 room of ${roomUsers}x${roomSockets} ` +
    `sockets, ${npairs} pairs, ${nidle} idle (${opt.mode})`);
