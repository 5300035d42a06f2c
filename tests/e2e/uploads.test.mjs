// POST /api/upload/chat-files and the files it serves (SPEC §2.16, §3;
// peer contract §4.4): allow-list + libmagic, sizes, thumbnails, random
// names, atomic writes, traversal, rate limit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BASE, newUser } from './helpers.mjs';
import { makePng, fixture, upload, raw, rawGet, listUploads, uploadRoot } from './media.mjs';

const MiB = 1024 * 1024;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PUBLIC_URL = (process.env.PUBLIC_URL || BASE).replace(/\/+$/, '');

let alice;
before(async () => { alice = await newUser(); });

// A user of its own for each test that uploads a lot (the rate limit).
const freshToken = async () => (await newUser()).token;

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

async function getFile(url) {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

function assertNothingWritten(beforeList) {
  assert.deepEqual(listUploads(), beforeList, 'no file (not even a temp file) was left behind');
}

test('uploads: a real PNG is stored under images/ with a random lower-case name', async () => {
  const png = makePng(40, 30, { pixel: (x, y) => [x * 6, y * 8, 128] });
  const r = await upload(alice.token, png, 'Holiday Photo.PNG', { type: 'image/png' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.success, true);
  const f = r.body.file;
  assert.equal(f.originalName, 'Holiday Photo.PNG');
  assert.equal(f.type, 'image');
  assert.equal(f.mimeType, 'image/png');
  assert.equal(f.fileSize, png.length);
  assert.equal(f.uploadedBy, alice.id);
  assert.match(f.uploadedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(f.fileName, /\.png$/);
  assert.match(f.fileName.replace(/\.png$/, ''), UUID_V4);
  assert.equal(f.fileUrl, `${PUBLIC_URL}/upload/chat/images/${f.fileName}`);
  assert.equal(f.width, 40);
  assert.equal(f.height, 30);

  // Stored byte for byte, at its final place.
  assert.ok(fs.existsSync(path.join(uploadRoot(), 'images', f.fileName)));
  const got = await getFile(f.fileUrl);
  assert.equal(got.status, 200);
  assert.equal(sha256(got.body), sha256(png));
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
  assert.match(got.headers.get('cache-control'), /max-age=31536000/);
  assert.match(got.headers.get('cache-control'), /immutable/);
  assert.equal(got.headers.get('content-disposition'), null);
});

test('uploads: a real JPEG gets a WebP thumbnail that is itself a valid image', async () => {
  const jpg = fixture('photo.jpg');
  const r = await upload(alice.token, jpg, 'PHOTO.JPG');
  assert.equal(r.status, 201, r.text);
  const f = r.body.file;
  assert.match(f.fileName, /^[0-9a-f-]{36}\.jpg$/, 'extension lower-cased');
  assert.equal(f.mimeType, 'image/jpeg');
  assert.equal(f.width, 160);
  assert.equal(f.height, 120);
  assert.equal(f.thumbnailUrl,
    `${PUBLIC_URL}/upload/chat/images/thumbs/${f.fileName.replace(/\.jpg$/, '.webp')}`);

  const orig = await getFile(f.fileUrl);
  assert.equal(orig.status, 200);
  assert.equal(orig.headers.get('content-type'), 'image/jpeg');
  assert.equal(sha256(orig.body), sha256(jpg));

  const th = await getFile(f.thumbnailUrl);
  assert.equal(th.status, 200);
  assert.equal(th.headers.get('content-type'), 'image/webp');
  assert.equal(th.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(th.body.subarray(0, 4).toString('latin1'), 'RIFF');
  assert.equal(th.body.subarray(8, 12).toString('latin1'), 'WEBP');

  // Decoded by the server's own pipeline: a real image, the same shape.
  const again = await upload(alice.token, th.body, 'thumb.webp');
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.file.width, 160, 'small images are not enlarged');
  assert.equal(again.body.file.height, 120);
});

test('uploads: a large image is thumbnailed to at most 320 px, aspect kept', async () => {
  const png = makePng(1200, 600, { pixel: (x, y) => [(x >> 3) & 255, (y >> 2) & 255, 60] });
  const r = await upload(alice.token, png, 'wide.png');
  assert.equal(r.status, 201, r.text);
  const th = await getFile(r.body.file.thumbnailUrl);
  assert.equal(th.status, 200);
  const again = await upload(alice.token, th.body, 'thumb.webp');
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.file.width, 320);
  assert.equal(again.body.file.height, 160);
});

test('uploads: fileUrl comes from PUBLIC_URL, never from the Host header', async () => {
  const png = makePng(8, 8);
  const form = new FormData();
  form.append('file', new Blob([png]), 'a.png');
  const req = new Request('http://x/', { method: 'POST', body: form });
  const body = Buffer.from(await req.arrayBuffer());
  const url = new URL(BASE);
  const res = await new Promise((resolve, reject) => {
    const r = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: '/api/upload/chat-files',
      headers: {
        host: 'evil.example:666',
        'x-forwarded-host': 'evil.example',
        authorization: `Bearer ${alice.token}`,
        'content-type': req.headers.get('content-type'),
        'content-length': body.length,
      },
    }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(t) }));
    });
    r.on('error', reject);
    r.end(body);
  });
  assert.equal(res.status, 201);
  assert.ok(res.body.file.fileUrl.startsWith(`${PUBLIC_URL}/upload/chat/images/`));
  assert.ok(!res.body.file.fileUrl.includes('evil'));
});

test('uploads: an ELF binary named .png is 400 and nothing is written', async () => {
  const before = listUploads();
  const elf = fs.readFileSync('/bin/true');
  const r = await upload(alice.token, elf, 'cat.png', { type: 'image/png' });
  assert.equal(r.status, 400);
  assert.equal(r.body.statusCode, 400);
  assert.equal(r.body.error, 'Bad Request');
  assert.match(r.body.message, /does not match the \.png extension/);
  assertNothingWritten(before);
});

test('uploads: a PNG named .jpg is 400 (both images, still a mismatch)', async () => {
  const before = listUploads();
  const r = await upload(alice.token, makePng(4, 4), 'x.jpg');
  assert.equal(r.status, 400);
  assert.match(r.body.message, /image\/png.*\.jpg/);
  assertNothingWritten(before);
});

test('uploads: an .exe is 400 with the allow-list', async () => {
  const before = listUploads();
  const r = await upload(alice.token, Buffer.from('MZ\x90\x00fake'), 'setup.exe');
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'File type .exe not allowed. Allowed types: .jpg, .jpeg, .png, ' +
    '.gif, .webp, .mp4, .mov, .avi, .mkv, .mp3, .wav, .aac, .m4a, .pdf, .doc, .docx, .txt, .rtf');
  assertNothingWritten(before);

  const none = await upload(alice.token, Buffer.from('hello'), 'README');
  assert.equal(none.status, 400);
  assert.match(none.body.message, /^File type \(none\) not allowed/);
});

test('uploads: no file is 400 "No file uploaded"', async () => {
  const form = new FormData();
  form.append('title', 'no file here');
  const r1 = await upload(alice.token, null, null, { form });
  assert.equal(r1.status, 400);
  assert.equal(r1.body.message, 'No file uploaded');

  // Wrong field name, a JSON body, an empty body.
  const r2 = await upload(alice.token, makePng(2, 2), 'a.png', { field: 'image' });
  assert.equal(r2.status, 400);
  assert.equal(r2.body.message, 'No file uploaded');
  const r3 = await fetch(`${BASE}/api/upload/chat-files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
    body: '{"file":"x"}',
  });
  assert.equal(r3.status, 400);
  assert.equal((await r3.json()).message, 'No file uploaded');
  const r4 = await fetch(`${BASE}/api/upload/chat-files`, {
    method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: '',
  });
  assert.equal(r4.status, 400);
});

test('uploads: a malformed multipart body is 400, never a 500', async () => {
  for (const body of ['garbage', '--b\r\nno headers end', '--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nunterminated']) {
    const r = await fetch(`${BASE}/api/upload/chat-files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'multipart/form-data; boundary=b' },
      body,
    });
    assert.equal(r.status, 400, body);
  }
});

test('uploads: needs a valid access token', async () => {
  const r = await upload(undefined, makePng(2, 2), 'a.png');
  assert.equal(r.status, 401);
});

test('uploads: exactly MAX_FILE_SIZE is accepted, one byte more is 413', async () => {
  const token = await freshToken();
  const ok = await upload(token, Buffer.alloc(10 * MiB, 'a'), 'max.txt');
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.file.fileSize, 10 * MiB);
  assert.equal(ok.body.file.type, 'file');

  const before = listUploads();
  const r = await upload(token, Buffer.alloc(10 * MiB + 1, 'a'), 'big.txt');
  assert.equal(r.status, 413);
  assert.equal(r.body.statusCode, 413);
  assert.equal(r.body.message, 'File too large');
  assert.equal(r.body.error, 'Payload Too Large');
  assertNothingWritten(before);
});

test('uploads: a body far over the limit is 413 from Content-Length, unread', async () => {
  // Only the headers are sent: the answer cannot depend on the body.
  const r = await raw('POST /api/upload/chat-files HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: Bearer ${alice.token}\r\n` +
    'Content-Type: multipart/form-data; boundary=b\r\n' +
    `Content-Length: ${64 * MiB}\r\n\r\n`);
  assert.equal(r.status, 413);
});

test('uploads: a decompression bomb is 400 from its header, nothing written', async () => {
  // 10000 x 10000 one-bit pixels: a few KB of PNG, 100 megapixels.
  const bomb = makePng(10000, 10000, { colorType: 0, bitDepth: 1 });
  assert.ok(bomb.length < 64 * 1024);
  const before = listUploads();
  const r = await upload(alice.token, bomb, 'bomb.png');
  assert.equal(r.status, 400);
  assert.match(r.body.message, /10000x10000 pixels/);
  assertNothingWritten(before);
});

test('uploads: an image whose pixels cannot be decoded is 400', async () => {
  const png = makePng(64, 64, { pixel: () => [1, 2, 3] });
  const broken = Buffer.concat([png.subarray(0, 45), Buffer.alloc(200, 0x41)]);
  const before = listUploads();
  const r = await upload(alice.token, broken, 'broken.png');
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'Image could not be decoded');
  assertNothingWritten(before);
});

test('uploads: documents download as attachments; HTML in a .txt stays inert', async () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n' +
    '2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  const p = await upload(alice.token, pdf, 'Invoice.PDF');
  assert.equal(p.status, 201, p.text);
  assert.equal(p.body.file.type, 'file');
  assert.equal(p.body.file.mimeType, 'application/pdf');
  assert.match(p.body.file.fileUrl, /\/upload\/chat\/documents\/[0-9a-f-]{36}\.pdf$/);
  assert.equal(p.body.file.thumbnailUrl, undefined);
  const pg = await getFile(p.body.file.fileUrl);
  assert.equal(pg.headers.get('content-type'), 'application/pdf');
  assert.match(pg.headers.get('content-disposition'), /^attachment/);

  const html = Buffer.from('<html><script>alert(document.cookie)</script></html>\n');
  const t = await upload(alice.token, html, 'notes.txt');
  assert.equal(t.status, 201, t.text);
  const tg = await getFile(t.body.file.fileUrl);
  assert.equal(tg.status, 200);
  assert.match(tg.headers.get('content-type'), /^text\/plain/);
  assert.match(tg.headers.get('content-disposition'), /^attachment/);
  assert.equal(tg.headers.get('x-content-type-options'), 'nosniff');
  assert.match(tg.headers.get('content-security-policy'), /sandbox/);
});

test('uploads: filenames are cleaned (no path, valid UTF-8)', async () => {
  const r = await upload(alice.token, makePng(2, 2), 'C:\\fakepath\\..\\été.png');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.file.originalName, 'été.png');
  const r2 = await upload(alice.token, makePng(2, 2), '../../etc/x.png');
  assert.equal(r2.status, 201);
  assert.equal(r2.body.file.originalName, 'x.png');
});

test('files: traversal and hidden names are 404 on every static route', async () => {
  const targets = [
    '/upload/chat/../../../../etc/passwd',
    '/upload/chat/images/../../../../etc/passwd',
    '/upload/chat/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/upload/chat/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/upload/chat/images/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/upload/chat/%252e%252e%252f%252e%252e%252fetc%252fpasswd',
    '/upload/chat/..%5c..%5c..%5cetc%5cpasswd',
    '/upload/chat/images/%00.png',
    '/upload/chat/images/x.png%00.txt',
    '/upload/chat/images/.upload-abc123',
    '/upload/chat/',
    '/upload/chat/images',
    '/../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%252e%252e/%252e%252e/etc/passwd',
    '/..%2f..%2f..%2fetc/passwd',
    '/.git/config',
    '/api/docs/../../../../etc/passwd',
    '/api/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/api/docs/..%2f..%2f..%2f..%2fetc%2fpasswd',
  ];
  for (const t of targets) {
    const r = await rawGet(t);
    assert.equal(r.status, 404, `${t} -> ${r.status}`);
    assert.ok(!r.body.toString().includes('root:'), t);
    assert.match(r.headers['content-type'], /application\/json/, t);
    assert.equal(JSON.parse(r.body.toString()).statusCode, 404, t);
  }
});

test('files: symlinks in the upload directory are never followed', async () => {
  const root = uploadRoot();
  fs.mkdirSync(path.join(root, 'images'), { recursive: true });
  fs.mkdirSync(path.join(root, 'documents'), { recursive: true });
  const link = path.join(root, 'images', 'evil-link.png');
  const dirLink = path.join(root, 'documents', 'etc');
  fs.rmSync(link, { force: true });
  fs.rmSync(dirLink, { force: true });
  fs.symlinkSync('/etc/passwd', link);
  fs.symlinkSync('/etc', dirLink);
  try {
    for (const p of ['/upload/chat/images/evil-link.png', '/upload/chat/documents/etc/passwd',
      '/upload/chat/documents/etc/hostname.txt']) {
      const r = await rawGet(p);
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.toString().includes('root:'));
    }
  } finally {
    fs.rmSync(link, { force: true });
    fs.rmSync(dirLink, { force: true });
  }
});

test('files: only GET and HEAD; HEAD has the headers and no body', async () => {
  const r = await upload(alice.token, makePng(3, 3), 'h.png');
  const url = new URL(r.body.file.fileUrl);
  const head = await raw(`HEAD ${url.pathname} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'image/png');
  assert.equal(head.body.length, 0);
  const del = await fetch(url, { method: 'DELETE' });
  assert.equal(del.status, 405);
  assert.equal((await fetch(url)).status, 200, 'still there');
});

test('uploads: rate limited per user with 429 and the X-RateLimit headers', async () => {
  const token = await freshToken();
  const first = await upload(token, Buffer.from('hello'), 'a.txt');
  assert.equal(first.status, 201);
  const limit = Number(first.headers.get('x-ratelimit-limit'));
  assert.ok(limit > 0 && limit <= 1000, `limit ${limit}`);
  assert.equal(Number(first.headers.get('x-ratelimit-remaining')), limit - 1);
  assert.ok(Number(first.headers.get('x-ratelimit-reset')) > Date.now() / 1000);

  let last = first;
  for (let i = 1; i < limit; i++) {
    last = await upload(token, Buffer.from('hello'), 'a.txt');
    assert.equal(last.status, 201, `upload ${i + 1} of ${limit}`);
  }
  assert.equal(Number(last.headers.get('x-ratelimit-remaining')), 0);

  const over = await upload(token, Buffer.from('hello'), 'a.txt');
  assert.equal(over.status, 429);
  assert.equal(over.body.statusCode, 429);
  assert.equal(over.body.error, 'Too Many Requests');
  assert.ok(Number(over.headers.get('retry-after')) > 0);
  assert.equal(over.headers.get('x-ratelimit-limit'), String(limit));
  assert.equal(over.headers.get('x-ratelimit-remaining'), '0');

  // Another user is not affected.
  const other = await upload(await freshToken(), Buffer.from('hello'), 'a.txt');
  assert.equal(other.status, 201);
});

test('uploads: a client that hangs up mid-upload does not hurt the worker', async () => {
  // ~6 Mpx of gradient: the thumbnail is still being made when we leave.
  const png = makePng(2400, 2400, { pixel: (x, y) => [x & 255, y & 255, (x + y) & 255] });
  const form = new FormData();
  form.append('file', new Blob([png]), 'slow.png');
  const req = new Request('http://x/', { method: 'POST', body: form });
  const body = Buffer.from(await req.arrayBuffer());
  for (let i = 0; i < 3; i++) {
    await raw('POST /api/upload/chat-files HTTP/1.1\r\nHost: x\r\n' +
      `Authorization: Bearer ${alice.token}\r\n` +
      `Content-Type: ${req.headers.get('content-type')}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`, {
      send: (sock) => sock.end(body, () => setTimeout(() => sock.destroy(), 5)),
    }).catch(() => {});
  }
  await new Promise((r) => setTimeout(r, 800));
  const ok = await upload(alice.token, makePng(4, 4), 'after.png');
  assert.equal(ok.status, 201);

  const log = process.env.LNK_TEST_RUN && path.join(process.env.LNK_TEST_RUN, 'kore.log');
  if (log && fs.existsSync(log)) {
    const text = fs.readFileSync(log, 'utf8');
    assert.ok(!/exited with status|died|gone|fatal|sandbox violation/i.test(text),
      'no worker died');
  }
});
