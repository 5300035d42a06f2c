// The shipped TLS front (conf/nginx.conf) in front of the server under
// test: https for REST, wss and polling for Socket.IO, large uploads.
// The real file is used, with only ports, upstream and certificate paths
// rewritten for this machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { BASE, newUser, sleep, freePort } from './helpers.mjs';

const RUN = process.env.LNK_TEST_RUN;
const dir = join(RUN, 'nginx');
let nginx;
let port;
let ca;

function request(method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, path, method, ca, headers }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

before(async () => {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'cert'), { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', join(dir, 'cert/privkey.pem'), '-out', join(dir, 'cert/fullchain.pem')],
  { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'cert/fullchain.pem'));

  port = await freePort();
  const httpPort = await freePort();
  const upstream = new URL(BASE).host;
  const conf = readFileSync(new URL('../../conf/nginx.conf', import.meta.url), 'utf8')
    .replace(/^\s*listen \[::\].*$/gm, '')
    .replace(/listen 443 ssl;/, `listen 127.0.0.1:${port} ssl;`)
    .replace(/listen 80;/, `listen 127.0.0.1:${httpPort};`)
    .replace(/server 127\.0\.0\.1:3001;/, `server ${upstream};`)
    .replace(/^worker_processes auto;/m, 'worker_processes 1;')
    .replace(/worker_connections 16384;/, 'worker_connections 1024;');
  assert.ok(conf.includes(`server ${upstream};`), 'upstream rewritten');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', `${dir}/`, '-g', 'daemon off;'],
    { stdio: 'ignore' });
  writeFileSync(join(RUN, 'nginx.pid'), `${nginx.pid}\n`);
  for (let i = 0; i < 50; i++) {
    try {
      await request('GET', '/api/health/status');
      return;
    } catch { await sleep(100); }
  }
  throw new Error('nginx did not start');
});

after(() => {
  if (nginx) nginx.kill('SIGTERM');
});

test('TLS front: REST over https with HSTS', async () => {
  const r = await request('GET', '/api/health');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.text).status, 'ok');
  assert.match(r.headers['strict-transport-security'], /max-age=31536000/);
});

test('TLS front: register and me over https', async () => {
  const u = await newUser();
  const r = await request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${u.token}` } });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.text)._id, u.id);
});

test('TLS front: a chunked request body reaches Kore (nginx de-chunks it)', async () => {
  const body = JSON.stringify({ email: 'nobody@none.lnk', password: 'whatever1' });
  const r = await new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, path: '/api/auth/login', method: 'POST', ca,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, text: data }));
    });
    req.on('error', reject);
    req.write(body.slice(0, 10));
    req.end(body.slice(10));
  });
  assert.equal(r.status, 401, r.text);
  assert.equal(JSON.parse(r.text).message, 'Invalid credentials');
});
