// lnk-chat demo client: REST for history, Socket.IO (/chat) for everything live.
// Text is always rendered with textContent: the server never sends HTML.
'use strict';

const state = {
  token: null,
  me: null,
  socket: null,
  conversations: new Map(),
  current: null,
  // Of the open conversation: every message up to seq `top` the server
  // would show us is on screen (SPEC.md §3: seq orders a conversation).
  top: 0,
  loaded: false,
  catchUpTimer: null,
  typingTimer: null,
  typingSent: false,
  typists: new Map(),
};

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (state.token) opts.headers.authorization = `Bearer ${state.token}`;
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers['content-type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const msg = data && data.message;
    throw new Error(Array.isArray(msg) ? msg.join(', ') : msg || res.statusText);
  }
  return data;
}

// --- auth -----------------------------------------------------------------

async function authenticate(register) {
  $('auth-error').textContent = '';
  const email = $('auth-email').value.trim();
  const password = $('auth-password').value;
  try {
    if (register) {
      const name = $('auth-name').value.trim() || email.split('@')[0];
      await api('POST', '/api/auth/register', { name, email, password });
    }
    const r = await api('POST', '/api/auth/login', { email, password });
    state.token = r.accessToken;
    state.me = r.user;
    start();
  } catch (err) {
    $('auth-error').textContent = err.message;
  }
}

$('auth-form').addEventListener('submit', (e) => { e.preventDefault(); authenticate(false); });
$('register').addEventListener('click', () => authenticate(true));

// --- conversations ----------------------------------------------------------

function peerOf(conv) {
  const people = conv.participantDetails || conv.participants || [];
  const other = people.find((p) => (p._id || p) !== state.me._id);
  return other && typeof other === 'object' ? other : null;
}

function titleOf(conv) {
  if (conv.type === 'group') return conv.groupName || 'Group';
  const peer = peerOf(conv);
  return peer && peer.name ? peer.name : 'Direct chat';
}

function renderConversations() {
  const list = $('conversations');
  list.replaceChildren();
  const convs = [...state.conversations.values()]
    .sort((a, b) => (b.lastMessageAt || '').localeCompare(a.lastMessageAt || ''));
  for (const conv of convs) {
    const li = document.createElement('li');
    li.dataset.id = conv._id;
    li.className = conv._id === state.current ? 'active' : '';
    const unread = (conv.unreadCounts || {})[state.me._id] || 0;
    if (unread > 0 && conv._id !== state.current) {
      const badge = document.createElement('span');
      badge.className = 'unread';
      badge.textContent = unread;
      li.append(badge);
    }
    const name = document.createElement('div');
    name.textContent = titleOf(conv);
    const last = document.createElement('div');
    last.className = 'last';
    last.textContent = conv.lastMessage || '';
    li.append(name, last);
    li.addEventListener('click', () => openConversation(conv._id));
    list.append(li);
  }
}

async function loadConversations() {
  const r = await api('GET', '/api/conversations?limit=100');
  state.conversations.clear();
  for (const c of r.conversations) state.conversations.set(c._id, c);
  renderConversations();
}

$('new-conv').addEventListener('submit', async (e) => {
  e.preventDefault();
  const other = $('new-conv-user').value.trim();
  try {
    const conv = await api('POST', '/api/conversations', { participants: [other], type: 'direct' });
    state.conversations.set(conv._id, { ...state.conversations.get(conv._id), ...conv });
    $('new-conv-user').value = '';
    await openConversation(conv._id);
  } catch (err) {
    alert(err.message);
  }
});

// --- messages ---------------------------------------------------------------

// Live events can arrive out of seq order (two server workers' batches for
// one conversation interleave), and a reconnect can miss some: every
// message goes to its place by seq, and a gap is fetched with afterSeq.

// Puts li after the last message with a lower seq; true if it is the newest.
function placeMessage(li, seq) {
  const list = $('messages');
  let before = list.lastElementChild;
  if (Number.isFinite(seq)) {
    while (before && Number(before.dataset.seq) > seq) before = before.previousElementSibling;
  }
  if (before === list.lastElementChild) {
    list.append(li);
    return true;
  }
  if (before) before.after(li);
  else list.prepend(li);
  return false;
}

function renderMessage(msg) {
  const mine = (msg.senderId._id || msg.senderId) === state.me._id;
  let li = document.querySelector(`#messages li[data-id="${msg._id}"]`);
  let newest = false;
  if (!li) {
    li = document.createElement('li');
    li.dataset.id = msg._id;
    li.dataset.seq = msg.seq;
    newest = placeMessage(li, Number(msg.seq));
  }
  li.className = mine ? 'mine' : '';
  li.replaceChildren();
  const meta = msg.metadata || {};
  if (msg.type === 'image' && (meta.thumbnailUrl || meta.fileUrl)) {
    const a = document.createElement('a');
    a.href = meta.fileUrl;
    a.target = '_blank';
    const img = document.createElement('img');
    img.src = meta.thumbnailUrl || meta.fileUrl;
    img.alt = meta.fileName || 'image';
    a.append(img);
    li.append(a);
  } else {
    li.append(document.createTextNode(msg.deletedAt ? 'message deleted' : msg.content));
  }
  const info = document.createElement('span');
  info.className = 'meta';
  const when = new Date(msg.createdAt).toLocaleTimeString();
  const readers = Object.keys(msg.readBy || {}).filter((u) => u !== state.me._id);
  info.textContent = mine ? `${when} ${readers.length ? '✓✓' : '✓'}` : when;
  li.append(info);
  if (newest) li.scrollIntoView({ block: 'end' });
}

function renderedSeqs() {
  return [...document.querySelectorAll('#messages li')].map((li) => Number(li.dataset.seq));
}

// top moves over what is on screen without a hole.
function advanceTop() {
  const have = new Set(renderedSeqs());
  while (have.has(state.top + 1)) state.top += 1;
}

// A live message of the open conversation: in place, and a gap before it
// is fetched unless the missing ones arrive by themselves meanwhile.
function receiveMessage(msg) {
  renderMessage(msg);
  advanceTop();
  if (state.loaded && Math.max(...renderedSeqs()) > state.top && !state.catchUpTimer) {
    state.catchUpTimer = setTimeout(() => catchUp(false).catch(() => {}), 1000);
  }
}

// Everything after state.top, oldest first, page by page (always after a
// reconnect; after a gap only if it is still there).
async function catchUp(always) {
  clearTimeout(state.catchUpTimer);
  state.catchUpTimer = null;
  const id = state.current;
  if (!state.loaded || (!always && Math.max(...renderedSeqs()) <= state.top)) return;
  for (;;) {
    const r = await api('GET', `/api/conversations/${id}/messages?afterSeq=${state.top}&limit=100`);
    if (state.current !== id) return;
    for (const m of r.messages) {
      renderMessage(m);
      if (m.seq > state.top) state.top = m.seq;
    }
    if (r.messages.length < 100) return;
  }
}

async function openConversation(id) {
  state.current = id;
  state.typists.clear();
  renderTyping();
  const conv = state.conversations.get(id) || await api('GET', `/api/conversations/${id}`);
  state.conversations.set(id, conv);
  $('thread-title').textContent = titleOf(conv);
  $('composer').hidden = false;
  $('messages').replaceChildren();
  clearTimeout(state.catchUpTimer);
  state.catchUpTimer = null;
  state.top = 0;
  state.loaded = false;
  state.socket.emit('join_conversation', { conversationId: id });
  const r = await api('GET', `/api/conversations/${id}/messages?limit=50`);
  if (state.current !== id) return;
  for (const m of r.messages) {
    renderMessage(m);
    if (m.seq > state.top) state.top = m.seq;
  }
  advanceTop();
  state.loaded = true;
  if (Math.max(...renderedSeqs()) > state.top) {
    state.catchUpTimer = setTimeout(() => catchUp(false).catch(() => {}), 1000);
  }
  const last = r.messages[r.messages.length - 1];
  if (last && (last.senderId._id || last.senderId) !== state.me._id) markRead(last);
  if (conv.unreadCounts) conv.unreadCounts[state.me._id] = 0;
  renderConversations();
}

function markRead(msg) {
  state.socket.emit('mark_read', { messageId: msg._id, conversationId: msg.conversationId });
}

function send(message) {
  return new Promise((resolve, reject) => {
    state.socket.emit('send_message', { conversationId: state.current, message }, (ack) => {
      if (ack && ack.success) resolve(ack.message);
      else reject(new Error((ack && ack.error) || 'send failed'));
    });
  });
}

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const content = $('text').value;
  if (!content.trim()) return;
  $('text').value = '';
  stopTyping();
  try {
    await send({ content, type: 'text', clientMessageId: crypto.randomUUID() });
  } catch (err) {
    $('text').value = content;
    alert(err.message);
  }
});

$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  if (!file) return;
  const form = new FormData();
  form.append('file', file);
  try {
    const r = await api('POST', '/api/upload/chat-files', form);
    const f = r.file;
    await send({
      content: f.originalName,
      type: f.type,
      metadata: {
        fileUrl: f.fileUrl, thumbnailUrl: f.thumbnailUrl, fileName: f.originalName,
        fileSize: f.fileSize, mimeType: f.mimeType,
      },
    });
  } catch (err) {
    alert(err.message);
  }
  $('file').value = '';
});

// --- typing -----------------------------------------------------------------

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent) {
    state.socket.emit('typing_stop', { conversationId: state.current });
    state.typingSent = false;
  }
}

$('text').addEventListener('input', () => {
  if (!state.current) return;
  if (!state.typingSent) {
    state.socket.emit('typing_start', { conversationId: state.current });
    state.typingSent = true;
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, 3000);
});

function renderTyping() {
  const names = [...state.typists.values()];
  $('typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

// --- socket -----------------------------------------------------------------

function connectSocket() {
  const socket = io('/chat', { auth: { token: state.token } });
  state.socket = socket;

  socket.on('connect', () => {
    $('status').textContent = 'online';
    $('status').className = 'status online';
    // Back after a drop: whatever was sent meanwhile, by seq.
    if (state.current) {
      socket.emit('join_conversation', { conversationId: state.current });
      catchUp(true).catch(() => {});
    }
  });
  socket.on('disconnect', () => {
    $('status').textContent = 'offline';
    $('status').className = 'status';
  });
  socket.on('connect_error', (err) => {
    $('status').textContent = `error: ${err.message}`;
  });

  socket.on('new_conversation', ({ conversation }) => {
    state.conversations.set(conversation._id, { ...state.conversations.get(conversation._id), ...conversation });
    renderConversations();
  });

  socket.on('new_message', ({ conversationId, message }) => {
    const conv = state.conversations.get(conversationId);
    if (conv) {
      conv.lastMessage = message.content;
      conv.lastMessageAt = message.createdAt;
      const mine = (message.senderId._id || message.senderId) === state.me._id;
      if (!mine && conversationId !== state.current) {
        conv.unreadCounts = conv.unreadCounts || {};
        conv.unreadCounts[state.me._id] = (conv.unreadCounts[state.me._id] || 0) + 1;
      }
    } else {
      loadConversations();
    }
    if (conversationId === state.current) {
      receiveMessage(message);
      if ((message.senderId._id || message.senderId) !== state.me._id) {
        state.typists.delete(message.senderId._id || message.senderId);
        renderTyping();
        markRead(message);
      }
    }
    renderConversations();
  });

  socket.on('message_updated', ({ conversationId, message }) => {
    if (conversationId === state.current) renderMessage(message);
  });

  socket.on('message_deleted', ({ conversationId, messageId }) => {
    if (conversationId !== state.current) return;
    const li = document.querySelector(`#messages li[data-id="${messageId}"]`);
    if (li) li.firstChild.textContent = 'message deleted';
  });

  socket.on('message_read', ({ conversationId, readBy }) => {
    if (conversationId !== state.current || readBy === state.me._id) return;
    // Reading a message marks everything before it as read.
    for (const meta of document.querySelectorAll('#messages li.mine .meta')) {
      meta.textContent = meta.textContent.replace(/✓+$/, '✓✓');
    }
  });

  socket.on('user_typing', ({ conversationId, userId, isTyping, user }) => {
    if (conversationId !== state.current || userId === state.me._id) return;
    if (isTyping) state.typists.set(userId, (user && user.name) || 'Someone');
    else state.typists.delete(userId);
    renderTyping();
  });

  socket.on('conversation_updated', ({ conversationId, lastMessage, lastMessageAt }) => {
    const conv = state.conversations.get(conversationId);
    if (!conv) return;
    if (lastMessage !== undefined) conv.lastMessage = lastMessage;
    if (lastMessageAt !== undefined) conv.lastMessageAt = lastMessageAt;
    renderConversations();
  });
}

async function start() {
  $('auth').hidden = true;
  $('chat').hidden = false;
  $('me').textContent = `${state.me.name} · ${state.me._id}`;
  $('me').title = 'your user id (share it to be found)';
  connectSocket();
  await loadConversations();
}
