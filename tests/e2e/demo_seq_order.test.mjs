// The demo client (assets/) orders a conversation by seq: live messages
// that arrive out of order (two workers' batches interleaved) go to
// their place, a repeat is shown once, and after a reconnect what was
// sent meanwhile is fetched with afterSeq. Headless Chromium, as in
// tests/browser/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launchChromium, newUser } from './helpers.mjs';
import { direct, sendOk } from './chat-helpers.mjs';

async function page(browser, user) {
  const context = await browser.newContext();
  const p = await context.newPage();
  p.on('pageerror', (e) => console.error('pageerror', e.message));
  await p.goto(`${BASE}/`);
  await p.fill('#auth-email', user.email);
  await p.fill('#auth-password', user.password);
  await p.click('#login');
  await p.waitForSelector('#status.online');
  return p;
}

const shown = (p) => p.$$eval('#messages li', (els) => els.map((li) => li.firstChild.textContent));

test('demo client: messages are shown in seq order, whatever order they arrive in', { timeout: 90000 }, async () => {
  const [a, b] = [await newUser({ name: 'Ann' }), await newUser({ name: 'Ben' })];
  const cid = (await direct(a, b))._id;
  for (const text of ['m1', 'm2', 'm3']) await sendOk(a, cid, text);

  const browser = await launchChromium();
  assert.ok(browser, 'Debian\'s chromium is installed (scripts/setup)');
  try {
    const pb = await page(browser, b);
    await pb.click(`#conversations li[data-id="${cid}"]`);
    await pb.waitForFunction(() => document.querySelectorAll('#messages li').length === 3);
    assert.deepEqual(await shown(pb), ['m1', 'm2', 'm3']);

    // Dropped: two messages are sent meanwhile; back, they are fetched.
    await pb.evaluate(() => state.socket.disconnect());
    await sendOk(a, cid, 'm4');
    await sendOk(a, cid, 'm5');
    await pb.evaluate(() => state.socket.connect());
    await pb.waitForFunction(() => document.querySelectorAll('#messages li').length === 5);
    assert.deepEqual(await shown(pb), ['m1', 'm2', 'm3', 'm4', 'm5']);

    // Live, out of order and once repeated (as two workers' batches can
    // interleave): each in its place, the repeat shown once.
    const base = { conversationId: cid, senderId: a.id, type: 'text', createdAt: new Date().toISOString() };
    const live = [8, 6, 7, 6].map((seq) => ({
      conversationId: cid,
      message: { ...base, _id: `${'0'.repeat(22)}0${seq}`, id: `${'0'.repeat(22)}0${seq}`, seq, content: `m${seq}` },
    }));
    await pb.evaluate((events) => {
      const on = state.socket.listeners('new_message')[0];
      for (const e of events) on(e);
    }, live);
    assert.deepEqual(await shown(pb), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    assert.equal(await pb.evaluate(() => state.top), 8);
  } finally {
    await browser.close();
  }
});
