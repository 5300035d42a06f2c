// The baseline of the fanout and memory benchmarks: the npm `socket.io`
// 4.8 server doing what lnk-chat does for the typing events, and nothing
// more. Namespace /chat; any token is accepted (its payload is decoded, not
// verified, for the user id); on connect the socket joins `user:<id>` and
// the conversation rooms the seed gave that user (ROOMS_FILE), as lnk-chat
// joins them from the database.
//
// typing_start {conversationId}: the same in-memory membership check as
// lnk-chat (is this socket in the room?), Redis SETEX typing:<cid>:<uid> 10,
// `user_typing {conversationId, userId, isTyping: true, user: {id, name,
// avatar}}` to the others in the room, ack {success: true}.
//
// env: PORT, REDIS_PORT (Redis on 127.0.0.1), ROOMS_FILE.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { Server } from 'socket.io';
import { createClient } from 'redis';

const port = Number(process.env.PORT || 3002);
const rooms = process.env.ROOMS_FILE ?
    JSON.parse(readFileSync(process.env.ROOMS_FILE, 'utf8')) : {};

const redis = createClient({ socket: { host: '127.0.0.1',
    port: Number(process.env.REDIS_PORT || 6379) } });
redis.on('error', (err) => console.error('redis:', err.message));
await redis.connect();

const http = createServer((req, res) => {
	res.writeHead(404).end();
});
const io = new Server(http, { serveClient: false });
const chat = io.of('/chat');

function userOf(token) {
	try {
		const claims = JSON.parse(Buffer.from(String(token).split('.')[1],
		    'base64url').toString());
		return String(claims.sub || claims.id);
	} catch {
		return 'anonymous';
	}
}

chat.use((socket, next) => {
	socket.data.userId = userOf(socket.handshake.auth?.token);
	next();
});

chat.on('connection', (socket) => {
	const uid = socket.data.userId;
	const me = rooms[uid];
	socket.data.name = me?.name || '';
	socket.join(`user:${uid}`);
	for (const cid of me?.conversations || [])
		socket.join(`conversation:${cid}`);

	const typing = (isTyping) => (data, ack) => {
		const reply = typeof ack === 'function' ? ack : () => {};
		const cid = data?.conversationId;
		const room = `conversation:${cid}`;
		if (typeof cid !== 'string' || !socket.rooms.has(room))
			return reply({ success: false, error: 'Conversation not found' });
		const key = `typing:${cid}:${uid}`;
		(isTyping ? redis.setEx(key, 10, 'true') : redis.del(key))
		    .catch(() => {});
		const payload = { conversationId: cid, userId: uid, isTyping };
		if (isTyping)
			payload.user = { id: uid, name: socket.data.name, avatar: '' };
		socket.to(room).emit('user_typing', payload);
		reply({ success: true });
	};
	// Rooms come from ROOMS_FILE at connect; this is for clients that
	// ask anyway (the bench asks lnk-chat, see bench/fanout/run).
	socket.on('join_conversation', (data, ack) => {
		const cid = data?.conversationId;
		const ok = (me?.conversations || []).includes(cid);
		if (ok)
			socket.join(`conversation:${cid}`);
		if (typeof ack === 'function')
			ack(ok ? { success: true } : { success: false,
			    error: 'Conversation not found' });
	});
	socket.on('typing_start', typing(true));
	socket.on('typing_stop', typing(false));
});

http.listen(port, '127.0.0.1', () => {
	console.log(`node socket.io ${process.versions.node} baseline on 127.0.0.1:${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
