// The demo page in Debian's headless Chromium: two browser contexts, two
// users. One sends, the other sees it appear, sees typing, read receipts,
// and an uploaded image's thumbnail. Saves a screenshot as an artifact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { api, BASE, newUser } from '../e2e/helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = process.env.LNK_ARTIFACTS || join(here, 'artifacts');

// A 64×48 PNG drawn by the browser itself (no fixture file needed).
async function makePng(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#2563eb';
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#fbbf24';
    g.fillRect(16, 12, 32, 24);
    return c.toDataURL('image/png').split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

async function login(browser, user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.message));
  await page.goto(`${BASE}/`);
  await page.fill('#auth-email', user.email);
  await page.fill('#auth-password', user.password);
  await page.click('#login');
  await page.waitForSelector('#chat:not([hidden])');
  await page.waitForSelector('#status.online');
  return page;
}

test('two users chat live in the demo page', { timeout: 90000 }, async () => {
  const a = await newUser({ name: 'Alice' });
  const b = await newUser({ name: 'Bob' });
  const conv = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' } });
  assert.equal(conv.status, 201);
  const cid = conv.body._id;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const pa = await login(browser, a);
    const pb = await login(browser, b);

    await pa.click(`#conversations li[data-id="${cid}"]`);
    await pb.click(`#conversations li[data-id="${cid}"]`);
    await pa.waitForSelector('#composer:not([hidden])');
    await pb.waitForSelector('#composer:not([hidden])');

    // Typing shows up on the other side.
    await pa.type('#text', 'hello from Alice');
    await pb.waitForFunction(() => /Alice is typing/.test(document.querySelector('#typing').textContent));

    // The message appears live, and the typing line clears.
    await pa.click('#composer button[type=submit]');
    const li = await pb.waitForSelector('#messages li:not(.mine)');
    assert.match(await li.textContent(), /hello from Alice/);
    await pb.waitForFunction(() => document.querySelector('#typing').textContent === '');

    // Bob's page marks it read: Alice sees the double tick.
    await pa.waitForFunction(() => /✓✓/.test(document.querySelector('#messages li.mine .meta').textContent));

    // Bob answers.
    await pb.fill('#text', 'hi Alice!');
    await pb.press('#text', 'Enter');
    await pa.waitForFunction(() => [...document.querySelectorAll('#messages li:not(.mine)')]
      .some((el) => el.textContent.includes('hi Alice!')));

    // Alice uploads an image; Bob sees its thumbnail.
    const png = await makePng(pa);
    await pa.setInputFiles('#file', { name: 'square.png', mimeType: 'image/png', buffer: png });
    const img = await pb.waitForSelector('#messages li img', { timeout: 15000 });
    const src = await img.getAttribute('src');
    assert.match(src, /\/upload\/chat\/images\//);
    await pb.waitForFunction(() => {
      const i = document.querySelector('#messages li img');
      return i && i.complete && i.naturalWidth > 0;
    });

    mkdirSync(ARTIFACTS, { recursive: true });
    await pb.screenshot({ path: join(ARTIFACTS, 'chat-bob.png'), fullPage: true });
    await pa.screenshot({ path: join(ARTIFACTS, 'chat-alice.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
