// /api/conversations: every route's success shape and error statuses.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser } from './helpers.mjs';
import {
  closeDb, db, direct, group, isPublicUser, oid, sendOk, unread,
} from './chat-helpers.mjs';

after(closeDb);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const OID = /^[0-9a-f]{24}$/;

describe('POST /api/conversations', () => {
  it('creates a direct conversation: 201 CONV, creator last', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const r = await api('POST', '/api/conversations', {
      token: a.token, body: { participants: [b.id] },
    });
    assert.equal(r.status, 201);
    const c = r.body;
    assert.match(c._id, OID);
    assert.equal(c.id, c._id);
    assert.deepEqual(c.participants, [b.id, a.id]);
    assert.equal(c.type, 'direct');
    assert.equal(c.participantCount, 2);
    assert.equal(c.isActive, true);
    assert.deepEqual(c.unreadCounts, {});
    assert.deepEqual(c.archivedBy, {});
    assert.deepEqual(c.deletedBy, {});
    assert.equal(c.seq, 0);
    assert.match(c.createdAt, ISO);
    assert.match(c.lastMessageAt, ISO);
    assert.equal(c.__v, undefined);
    assert.equal(c.directKey, undefined);
    const row = await (await db()).collection('conversations').findOne({ _id: oid(c._id) });
    assert.equal(row.type, 'direct');
    assert.equal(row.participants.length, 2);
  });

  it('creates a group with the caller as admin', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const r = await api('POST', '/api/conversations', {
      token: a.token,
      body: { participants: [b.id, c.id], type: 'group', groupName: 'Trio', groupAvatar: '/upload/chat/images/x.png' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.type, 'group');
    assert.equal(r.body.groupName, 'Trio');
    assert.equal(r.body.groupAvatar, '/upload/chat/images/x.png');
    assert.equal(r.body.groupAdmin, a.id);
    assert.equal(r.body.participantCount, 3);
  });

  it('400 for bad bodies', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const cases = [
      [{}, 'participants must be an array'],
      [{ participants: 'x' }, 'participants must be an array'],
      [{ participants: ['nope'] }, 'each value in participants must be a mongodb id'],
      [{ participants: [b.id], type: 'triad' }, 'type must be one of the following values: direct, group'],
      [{ participants: [] }, 'Direct conversations must have exactly 2 participants'],
      [{ participants: [a.id] }, 'Direct conversations must have exactly 2 participants'],
      [{ participants: [b.id], type: 'group' }, 'Group name is required for group conversations'],
      [{ participants: [b.id], type: 'group', groupName: 'g', groupAvatar: 'javascript:alert(1)' },
        'groupAvatar must be an http(s) URL or a path under /upload/'],
      [{ participants: [oid().toHexString()] }, 'One or more participants do not exist'],
    ];
    for (const [body, msg] of cases) {
      const r = await api('POST', '/api/conversations', { token: a.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.statusCode, 400);
      assert.equal(r.body.error, 'Bad Request');
      const m = Array.isArray(r.body.message) ? r.body.message : [r.body.message];
      assert.ok(m.includes(msg), `${JSON.stringify(body)} → ${r.text}`);
    }
  });

  it('401 without a token', async () => {
    const r = await api('POST', '/api/conversations', { body: { participants: [] } });
    assert.equal(r.status, 401);
  });
});

describe('GET /api/conversations', () => {
  it('lists with public participant details, last message and pagination', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d1 = await direct(a, b);
    const g = await group(a, [b, c], 'Listers');
    await sendOk(b, d1._id, 'first');
    const r = await api('GET', '/api/conversations', { token: a.token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.pagination, {
      page: 1, limit: 20, totalPages: 1, totalCount: 2, hasNext: false, hasPrev: false,
    });
    const ids = r.body.conversations.map((x) => x._id);
    assert.deepEqual(ids, [d1._id, g._id], 'newest message first');
    const item = r.body.conversations[0];
    assert.equal(item.id, item._id);
    assert.equal(item.unreadCounts[a.id], 1);
    assert.equal(item.lastMessage, 'first');
    assert.equal(item.participantDetails.length, 2);
    for (const u of item.participantDetails) assert.ok(isPublicUser(u), JSON.stringify(u));
    assert.equal(item.lastMessageDetails.length, 1);
    assert.equal(item.lastMessageDetails[0].content, 'first');
    assert.equal(item.lastMessageDetails[0].sender.id, b.id);
    assert.ok(isPublicUser(item.lastMessageDetails[0].sender));
    assert.deepEqual(r.body.conversations[1].lastMessageDetails, []);
  });

  it('pages, filters by type, clamps bad paging', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    await direct(a, b);
    await direct(a, c);
    await group(a, [b, c], 'G1');
    let r = await api('GET', '/api/conversations?limit=2&page=2', { token: a.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.conversations.length, 1);
    assert.deepEqual(r.body.pagination, {
      page: 2, limit: 2, totalPages: 2, totalCount: 3, hasNext: false, hasPrev: true,
    });
    r = await api('GET', '/api/conversations?type=group', { token: a.token });
    assert.equal(r.body.conversations.length, 1);
    assert.equal(r.body.conversations[0].type, 'group');
    r = await api('GET', '/api/conversations?type=nope', { token: a.token });
    assert.equal(r.status, 400);
    r = await api('GET', '/api/conversations?page=-3&limit=abc', { token: a.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.pagination.page, 1);
    assert.equal(r.body.pagination.limit, 20);
    r = await api('GET', '/api/conversations?limit=1000', { token: a.token });
    assert.equal(r.body.pagination.limit, 100);
    r = await api('GET', '/api/conversations?archived=maybe', { token: a.token });
    assert.equal(r.status, 400);
  });

  it('searches group names and partner names, literally', async () => {
    const a = await newUser({ name: 'Searcher' });
    const b = await newUser({ name: 'Zoé (Backslash\\)' });
    const c = await newUser({ name: 'Other' });
    const d = await direct(a, b);
    const g = await group(a, [c, b], 'Book.club+');
    await direct(a, c);
    let r = await api('GET', `/api/conversations?search=${encodeURIComponent('zoé (back')}`, { token: a.token });
    assert.deepEqual(r.body.conversations.map((x) => x._id).sort(), [d._id, g._id].sort());
    r = await api('GET', `/api/conversations?search=${encodeURIComponent('book.club+')}`, { token: a.token });
    assert.deepEqual(r.body.conversations.map((x) => x._id), [g._id]);
    r = await api('GET', `/api/conversations?search=${encodeURIComponent('.*')}`, { token: a.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.conversations.length, 0);
    // The caller's own name does not match every conversation.
    r = await api('GET', '/api/conversations?search=Searcher', { token: a.token });
    assert.equal(r.body.conversations.length, 0);
  });
});

describe('GET /api/conversations/:id', () => {
  it('200 with populated participants and admin (public fields only)', async () => {
    const [a, b] = [await newUser(), await newUser()];
    await (await db()).collection('users').updateOne(
      { _id: oid(a.id) }, { $set: { avatar: 'https://cdn.example/a.png' } });
    const g = await group(a, [b], 'Pop');
    const r = await api('GET', `/api/conversations/${g._id}`, { token: b.token });
    assert.equal(r.status, 200);
    assert.equal(r.body._id, g._id);
    assert.equal(r.body.participants.length, 2);
    for (const u of r.body.participants) {
      assert.ok(isPublicUser(u), JSON.stringify(u));
      assert.equal(u.id, u._id);
      assert.equal(typeof u.isVerified, 'boolean');
    }
    assert.deepEqual(Object.keys(r.body.groupAdmin).sort(), ['_id', 'avatar', 'id', 'name']);
    assert.equal(r.body.groupAdmin.id, a.id);
  });

  it('404 for strangers and unknown ids, 400 for malformed ids', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await api('GET', `/api/conversations/${d._id}`, { token: x.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Conversation not found');
    r = await api('GET', `/api/conversations/${oid().toHexString()}`, { token: a.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Conversation not found');
    r = await api('GET', '/api/conversations/xyz', { token: a.token });
    assert.equal(r.status, 400);
  });
});

describe('PUT /api/conversations/:id', () => {
  it('the admin renames, changes avatar, adds and removes members, transfers admin', async () => {
    const [a, b, c, d] = [await newUser(), await newUser(), await newUser(), await newUser()];
    const g = await group(a, [b, c], 'Before');
    await sendOk(b, g._id, 'one');
    let r = await api('PUT', `/api/conversations/${g._id}`, {
      token: a.token,
      body: { groupName: 'After', groupAvatar: 'https://img.example/g.png', addParticipants: [d.id], removeParticipants: [c.id] },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.groupName, 'After');
    assert.equal(r.body.groupAvatar, 'https://img.example/g.png');
    assert.deepEqual(r.body.participants.sort(), [a.id, b.id, d.id].sort());
    assert.equal(r.body.participantCount, 3);
    // The newcomer starts with nothing unread; the removed one is out.
    assert.equal(await unread(d, g._id), 0);
    r = await api('GET', `/api/conversations/${g._id}`, { token: c.token });
    assert.equal(r.status, 404);
    r = await api('PUT', `/api/conversations/${g._id}`, { token: a.token, body: { groupAdmin: b.id } });
    assert.equal(r.status, 200);
    assert.equal(r.body.groupAdmin, b.id);
    r = await api('PUT', `/api/conversations/${g._id}`, { token: a.token, body: { groupName: 'Nope' } });
    assert.equal(r.status, 403);
    const row = await (await db()).collection('conversations').findOne({ _id: oid(g._id) });
    assert.equal(row.groupName, 'After');
    assert.equal(row.groupAdmin.toHexString(), b.id);
  });

  it('403 for a member who is not the admin', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const g = await group(a, [b], 'Admins');
    const r = await api('PUT', `/api/conversations/${g._id}`, { token: b.token, body: { groupName: 'x' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'Only group admin can update group settings');
  });

  it('400 on direct conversations and for invalid membership', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    for (const body of [{ groupName: 'x' }, { addParticipants: [c.id] }, { removeParticipants: [b.id] }]) {
      const r = await api('PUT', `/api/conversations/${d._id}`, { token: a.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.message, 'Direct conversations cannot be renamed or change members');
    }
    const g = await group(a, [b, c], 'Rules');
    const cases = [
      [{ addParticipants: [c.id], removeParticipants: [c.id] }, 'A user cannot be added and removed at once'],
      [{ removeParticipants: [b.id, c.id] }, 'A conversation must have between 2 and 50 participants'],
      [{ groupAdmin: oid().toHexString() }, 'New admin must be a participant in the conversation'],
      [{ removeParticipants: [a.id] }, 'The group admin cannot be removed; transfer admin first'],
      [{ addParticipants: [oid().toHexString()] }, 'One or more participants do not exist'],
      [{ addParticipants: ['bad'] }, 'each value in addParticipants must be a mongodb id'],
      [{ groupAvatar: 'data:text/html,x' }, 'groupAvatar must be an http(s) URL or a path under /upload/'],
    ];
    for (const [body, msg] of cases) {
      const r = await api('PUT', `/api/conversations/${g._id}`, { token: a.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      const m = Array.isArray(r.body.message) ? r.body.message : [r.body.message];
      assert.ok(m.includes(msg), `${JSON.stringify(body)} → ${r.text}`);
    }
  });

  it('404 for non-participants', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const g = await group(a, [b], 'Private');
    const r = await api('PUT', `/api/conversations/${g._id}`, { token: x.token, body: { groupName: 'x' } });
    assert.equal(r.status, 404);
  });
});

describe('archive, unarchive, delete, unread-count', () => {
  it('archive hides from the default list and shows with archived=true', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await api('PUT', `/api/conversations/${d._id}/archive`, { token: a.token });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    r = await api('GET', '/api/conversations', { token: a.token });
    assert.equal(r.body.conversations.length, 0);
    r = await api('GET', '/api/conversations?archived=true', { token: a.token });
    assert.deepEqual(r.body.conversations.map((x) => x._id), [d._id]);
    r = await api('GET', `/api/conversations/${d._id}`, { token: a.token });
    assert.equal(r.status, 200, 'archived stays reachable');
    r = await api('GET', '/api/conversations', { token: b.token });
    assert.equal(r.body.conversations.length, 1, 'archive is per user');
    r = await api('PUT', `/api/conversations/${d._id}/unarchive`, { token: a.token });
    assert.equal(r.status, 204);
    r = await api('GET', '/api/conversations?archived=false', { token: a.token });
    assert.deepEqual(r.body.conversations.map((x) => x._id), [d._id]);
    const row = await (await db()).collection('conversations').findOne({ _id: oid(d._id) });
    assert.deepEqual(row.archivedBy, {});
  });

  it('delete hides the conversation for the caller only', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await api('DELETE', `/api/conversations/${d._id}`, { token: a.token });
    assert.equal(r.status, 204);
    for (const [m, p] of [['GET', ''], ['GET', '/messages'], ['PUT', '/archive'], ['GET', '/unread-count']]) {
      r = await api(m, `/api/conversations/${d._id}${p}`, { token: a.token });
      assert.equal(r.status, 404, `${m} ${p}`);
    }
    r = await api('GET', `/api/conversations/${d._id}`, { token: b.token });
    assert.equal(r.status, 200);
    r = await api('DELETE', `/api/conversations/${d._id}`, { token: a.token });
    assert.equal(r.status, 404);
  });

  it('a new message brings a deleted conversation back', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    await api('DELETE', `/api/conversations/${d._id}`, { token: a.token });
    await sendOk(b, d._id, 'are you there?');
    const r = await api('GET', '/api/conversations', { token: a.token });
    assert.deepEqual(r.body.conversations.map((x) => x._id), [d._id]);
    assert.equal(await unread(a, d._id), 1);
  });

  it('unread-count: 200 {conversationId, unreadCount}, 404, 400', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    await sendOk(a, d._id, 'x');
    await sendOk(a, d._id, 'y');
    let r = await api('GET', `/api/conversations/${d._id}/unread-count`, { token: b.token });
    assert.deepEqual(r.body, { conversationId: d._id, unreadCount: 2 });
    r = await api('GET', `/api/conversations/${d._id}/unread-count`, { token: a.token });
    assert.deepEqual(r.body, { conversationId: d._id, unreadCount: 0 });
    r = await api('GET', `/api/conversations/${d._id}/unread-count`, { token: x.token });
    assert.equal(r.status, 404);
    r = await api('GET', '/api/conversations/123/unread-count', { token: a.token });
    assert.equal(r.status, 400);
  });
});
