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
//        [--idle-sockets N]: N idle tokens spread over the --idle users
//        [--defer-pairs]: write 999 of the pair conversations to
//        <out>/pairs.ejson instead of inserting them; --insert-pairs FILE
//        --mongo URI inserts them later.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BSON, MongoClient, ObjectId } from 'mongodb';
import { remap } from './remap.mjs';

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
	'idle-sockets': { type: 'string' },
	'defer-pairs': { type: 'boolean', default: false },
	'insert-pairs': { type: 'string' },
} });

// --insert-pairs FILE: the second step of --defer-pairs.
if (opt['insert-pairs']) {
	const docs = BSON.EJSON.parse(readFileSync(opt['insert-pairs'], 'utf8'),
	    { relaxed: false });
	const client = new MongoClient(opt.mongo);
	const t = Date.now();
	const convs = client.db().collection('conversations');
	for (let i = 0; i < docs.length; i += 500)
		await convs.insertMany(docs.slice(i, i + 500));
	await client.close();
	console.error(`seed: ${docs.length} conversations inserted in ${Date.now() - t} ms`);
	process.exit(0);
}
const roomUsers = Number(opt['room-users']);
const roomSockets = Number(opt['room-sockets']);
const npairs = Number(opt.pairs);
const nidle = Number(opt.idle);
const nidleSockets = Number(opt['idle-sockets'] ?? opt.idle);
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

mkdirSync(opt.out, { recursive: true });
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
	const tmpl = await coll.findOne({ emailKey: email },
	    { promoteLongs: false });
	if (tmpl === null)
		throw new Error('template user not found in the database');
	const now = new Date();
	const tid = tmpl._id.toHexString();
	// Unique keys derived from the id (phoneKey "-<id>" when there is no
	// phone number) follow the new id.
	const clone = (u) => {
		const e = `bench-${tag}-${u.id}@bench.invalid`;
		return { ...remap(tmpl, new Map([[tid, u.id]])), name: u.name,
		    email: e, emailKey: e, createdAt: now, updatedAt: now };
	};
	const t0 = Date.now();
	for (let i = 0; i < users.length; i += 1000)
		await coll.insertMany(users.slice(i, i + 1000).map(clone));
	console.error(`seed: ${users.length} users inserted in ${Date.now() - t0} ms`);
	// The group room and one direct conversation go through the REST API;
	// the other 999 are clones of that one with the ids swapped (creating
	// them one by one through FerretDB takes minutes on a busy machine).
	const t1 = Date.now();
	const idOf = (c) => c._id || c.id || c.conversation?._id;
	const [owner, ...rest] = roomMembers;
	roomId = idOf(await api('POST', '/api/conversations', owner.token, {
		participants: rest.map((u) => u.id), type: 'group',
		groupName: 'bench room' }));
	pairIds = [];
	if (npairs > 0) {
		const [a, b] = pairUsers;
		pairIds.push(idOf(await api('POST', '/api/conversations', a.token,
		    { participants: [b.id], type: 'direct' })));
		const convs = mongo.db().collection('conversations');
		const ctmpl = await convs.findOne({ _id: new ObjectId(pairIds[0]) },
		    { promoteLongs: false });
		const docs = [];
		for (let i = 1; i < npairs; i++) {
			const cid = new ObjectId().toHexString();
			pairIds.push(cid);
			docs.push(remap(ctmpl, new Map([[pairIds[0], cid],
			    [a.id, pairUsers[2 * i].id],
			    [b.id, pairUsers[2 * i + 1].id]])));
		}
		if (opt['defer-pairs']) {
			// lnk-chat looks every connecting socket's conversations up,
			// and FerretDB scans the whole collection for that; the
			// bench connects the pair sockets first, then inserts these
			// and has the sockets join_conversation.
			writeFileSync(`${opt.out}/pairs.ejson`,
			    BSON.EJSON.stringify(docs, { relaxed: false }));
		} else {
			for (let i = 0; i < docs.length; i += 500)
				await convs.insertMany(docs.slice(i, i + 500));
		}
	}
	console.error(`seed: ${npairs + 1} conversations created in ${Date.now() - t1} ms`);
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
	// --idle-sockets over --idle users, round-robin.
	idle: Array.from({ length: nidle > 0 ? nidleSockets : 0 },
	    (_, i) => idleUsers[i % nidle].token),
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

writeFileSync(`${opt.out}/seed.json`, JSON.stringify(seed));
writeFileSync(`${opt.out}/rooms.json`, JSON.stringify(rooms));
console.error(`seed: ${users.length} users, 1 room of ${roomUsers}x${roomSockets} ` +
    `sockets, ${npairs} pairs, ${nidle} idle users (${nidle > 0 ? nidleSockets : 0} ` +
    `idle sockets) (${opt.mode})`);
