// The baseline of `make bench-messages`: what the original NestJS service
// does on the message path, written the obvious way with the npm
// `socket.io` 4.8 server and the official `mongodb` driver, on the same
// database as lnk-chat (same FerretDB, same seeded collections) and with
// the same JWT secret. It is a baseline, not a competitor: no caching,
// no batching, no tuning.
//
// Socket.IO namespace /chat, auth {token} (or Authorization: Bearer): the
// token is verified (HS256, node:crypto), the user looked up by _id, and
// the socket joins user:<id> and conversation:<id> for every conversation
// found with find({participants: userId}). That happens in a namespace
// middleware, i.e. before socket.io writes the CONNECT packet (it writes
// it before the "connection" handlers run), as lnk-chat joins before it
// accepts.
//
// send (socket send_message {conversationId, message: {content, type,
// clientMessageId?}} with ack, and POST /api/conversations/:id/messages):
// findOne the conversation (the sender must be a participant), seq =
// findOneAndUpdate {$inc: {seq: 1}}, insertOne the message (the shape of
// bench/messages/seed.mjs, bucket included), updateOne the conversation
// ($set lastMessage*, $inc unreadCounts.<each other participant>), then
// emit new_message {conversationId, message} to conversation:<id>. A
// socket send then also emits message_received and conversation_updated
// to the room, as the original does (and lnk-chat); NODE_EVENTS=new_message
// emits new_message only. Then the ack {success: true, message}.
//
// FerretDB applies findAndModify's $inc as read, modify, write back, so
// concurrent sends into one conversation can draw the same seq, and the
// unique {conversationId, seq} index (lnk-chat's) refuses the second
// insert: the baseline then fails those sends (they are counted as failed
// acks / errors). NODE_SEQ_LOCK=1 chains the sends of a conversation in
// this process instead (correct with one Node process only).
//
// GET /api/conversations/:id/messages: the participant check, then
// ?limit=50 find({conversationId}).sort({seq: -1}).limit(50) (the newest
// page, returned oldest first), ?beforeSeq=N the same under seq < N,
// ?afterSeq=N find({conversationId, seq: {$gt: N}}).sort({seq: 1}).
//
// env: PORT, MONGODB_URI, JWT_SECRET, NODE_EVENTS (all | new_message),
// NODE_SEQ_LOCK (0 | 1), NODE_POOL (20).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Long, MongoClient, ObjectId } from 'mongodb';
import { Server } from 'socket.io';

const port = Number(process.env.PORT || 3002);
const secret = process.env.JWT_SECRET;
const allEvents = (process.env.NODE_EVENTS || 'all') === 'all';
const seqLock = process.env.NODE_SEQ_LOCK === '1';
const chains = new Map(); // conversation id -> the tail of its sends

// At most NODE_POOL (20) connections to FerretDB: FerretDB v1.24 holds one
// of its 50 PostgreSQL connections through an update while it takes a
// second for the update's transaction, so more than ~25 updates at once
// (the driver's default pool is 100) can deadlock it for good.
const mongo = new MongoClient(process.env.MONGODB_URI,
    { maxPoolSize: Number(process.env.NODE_POOL || 20) });
await mongo.connect();
const db = mongo.db();
const users = db.collection('users');
const conversations = db.collection('conversations');
const messages = db.collection('messages');

class HttpError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

// The user id of a valid HS256 access token, else null.
function verify(token) {
	const [head, body, sig] = String(token || '').split('.');
	if (!sig)
		return null;
	const want = createHmac('sha256', secret).update(`${head}.${body}`).digest();
	const got = Buffer.from(sig, 'base64url');
	if (got.length !== want.length || !timingSafeEqual(got, want))
		return null;
	try {
		const h = JSON.parse(Buffer.from(head, 'base64url'));
		const c = JSON.parse(Buffer.from(body, 'base64url'));
		if (h.alg !== 'HS256' || c.exp * 1000 < Date.now() || (c.typ && c.typ !== 'access'))
			return null;
		return new ObjectId(c.sub || c.id);
	} catch {
		return null;
	}
}

const bearer = (h) => (h && h.startsWith('Bearer ') ? h.slice(7) : null);

function toJSON(m) {
	const id = m._id.toHexString();
	return { _id: id, id, conversationId: m.conversationId.toHexString(),
	    senderId: m.senderId.toHexString(), content: m.content, type: m.type,
	    seq: Number(m.seq), clientMessageId: m.clientMessageId,
	    createdAt: m.createdAt.toISOString() };
}

async function conversationOf(uid, cid) {
	if (!ObjectId.isValid(cid))
		throw new HttpError(404, 'Conversation not found');
	const conv = await conversations.findOne({ _id: new ObjectId(cid) });
	if (!conv || !conv.participants.some((p) => p.equals(uid)))
		throw new HttpError(404, 'Conversation not found');
	return conv;
}

function send(uid, cid, body) {
	if (!seqLock)
		return store(uid, cid, body);
	const run = (chains.get(cid) || Promise.resolve()).then(() => store(uid, cid, body));
	const tail = run.catch(() => {});
	chains.set(cid, tail);
	tail.then(() => chains.get(cid) === tail && chains.delete(cid));
	return run;
}

async function store(uid, cid, body) {
	const conv = await conversationOf(uid, cid);
	if (typeof body?.content !== 'string' || body.content === '')
		throw new HttpError(400, 'content must not be empty');
	const { seq } = await conversations.findOneAndUpdate({ _id: conv._id },
	    { $inc: { seq: 1 } }, { returnDocument: 'after' });
	const id = new ObjectId();
	const now = new Date();
	const doc = { _id: id, conversationId: conv._id, senderId: uid,
	    content: body.content, type: body.type || 'text', seq: Long.fromNumber(seq),
	    bucket: `${cid}:${Math.floor(seq / 50)}`,
	    clientMessageId: body.clientMessageId || id.toHexString(), createdAt: now };
	await messages.insertOne(doc);
	const unread = {};
	for (const p of conv.participants) {
		if (!p.equals(uid))
			unread[`unreadCounts.${p}`] = 1;
	}
	await conversations.updateOne({ _id: conv._id }, {
		$set: { lastMessage: doc.content, lastMessageId: id, lastMessageAt: now,
		    updatedAt: now },
		$inc: unread,
	});
	const message = toJSON(doc);
	chat.to(`conversation:${cid}`).emit('new_message', { conversationId: cid, message });
	return message;
}

async function history(uid, cid, q) {
	const conv = await conversationOf(uid, cid);
	const limit = Math.min(100, Math.max(1, Number(q.get('limit')) || 50));
	const filter = { conversationId: conv._id };
	let order = -1;
	if (q.has('afterSeq')) {
		filter.seq = { $gt: Number(q.get('afterSeq')) };
		order = 1;
	} else if (q.has('beforeSeq')) {
		filter.seq = { $lt: Number(q.get('beforeSeq')) };
	}
	const page = await messages.find(filter).sort({ seq: order }).limit(limit).toArray();
	if (order === -1)
		page.reverse();
	return { messages: page.map(toJSON), pagination: { limit, count: page.length } };
}

function reply(res, status, body) {
	res.writeHead(status, { 'content-type': 'application/json' });
	res.end(JSON.stringify(body));
}

async function readJSON(req) {
	let s = '';
	for await (const chunk of req)
		s += chunk;
	return s ? JSON.parse(s) : {};
}

const http = createServer(async (req, res) => {
	try {
		const url = new URL(req.url, 'http://localhost');
		const m = url.pathname.match(/^\/api\/conversations\/([^/]+)\/messages$/);
		if (!m)
			throw new HttpError(404, 'Not Found');
		const uid = verify(bearer(req.headers.authorization));
		if (!uid)
			throw new HttpError(401, 'Unauthorized');
		if (req.method === 'POST')
			return reply(res, 201, await send(uid, m[1], await readJSON(req)));
		if (req.method === 'GET')
			return reply(res, 200, await history(uid, m[1], url.searchParams));
		throw new HttpError(404, 'Not Found');
	} catch (e) {
		const status = e.status || 500;
		reply(res, status, { statusCode: status, message: e.message });
	}
});

const io = new Server(http, { serveClient: false });
const chat = io.of('/chat');

chat.use(async (socket, next) => {
	try {
		const uid = verify(socket.handshake.auth?.token ||
		    bearer(socket.handshake.headers.authorization));
		if (!uid || !(await users.findOne({ _id: uid }, { projection: { _id: 1 } })))
			return next(new Error('Unauthorized'));
		socket.data.uid = uid;
		const list = await conversations.find({ participants: uid },
		    { projection: { _id: 1 } }).toArray();
		socket.join([`user:${uid}`, ...list.map((c) => `conversation:${c._id}`)]);
		next();
	} catch (e) {
		next(e);
	}
});

chat.on('connection', (socket) => {
	const uid = socket.data.uid;
	socket.on('send_message', async (data, ack) => {
		const answer = typeof ack === 'function' ? ack : () => {};
		try {
			const cid = data?.conversationId;
			const message = await send(uid, cid, data?.message);
			if (allEvents) {
				const room = chat.to(`conversation:${cid}`);
				room.emit('message_received', { message, conversationId: cid });
				room.emit('conversation_updated', { conversationId: cid,
				    lastMessage: message.content, lastMessageAt: message.createdAt });
			}
			answer({ success: true, message });
		} catch (e) {
			answer({ success: false, error: e.message });
		}
	});
});

http.listen(port, '127.0.0.1', () => {
	console.log(`node ${process.versions.node} socket.io + mongodb baseline on 127.0.0.1:${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
