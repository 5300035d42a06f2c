// GET /api/docs/openapi.json and /api/docs: a valid OpenAPI 3.1 document
// that describes exactly the routes the server has, and a page that
// renders it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { BASE, api, launchChromium, newUser } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

let doc;
let user;
before(async () => {
  const res = await fetch(`${BASE}/api/docs/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  doc = await res.json();
  user = await newUser();
});

// "/api/messages/:id" and "/api/messages/{messageId}" → "/api/messages/{}"
const norm = (p) => p.replace(/:[A-Za-z_]+/g, '{}').replace(/\{[A-Za-z_]*\}/g, '{}');

// The routes compiled into the server: the REST route tables in
// src/http/*.c ({ API_GET | API_PATCH, "/api/...", flags, fn }) plus the
// kore.conf routes outside the framework that are part of the API.
function serverRoutes() {
  const routes = new Set();
  const dir = path.join(ROOT, 'src/http');
  const entry = /\{\s*((?:API_(?:GET|POST|PUT|DELETE|PATCH)\s*\|?\s*)+),\s*"(\/api[^"]*)"/g;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.c'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(entry)) {
      for (const meth of m[1].match(/API_[A-Z]+/g)) {
        routes.add(`${meth.slice(4).toLowerCase()} ${norm(m[2])}`);
      }
    }
  }
  const conf = fs.readFileSync(path.join(ROOT, 'kore.conf'), 'utf8');
  assert.match(conf, /route\s+\^\/api\/docs\S*\s+docs_serve/, 'kore.conf routes /api/docs');
  routes.add('get /api/docs');
  routes.add('get /api/docs/openapi.json');
  return routes;
}

function documented() {
  const out = new Map();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      if (item[m]) out.set(`${m} ${norm(p)}`, { path: p, method: m, op: item[m] });
    }
  }
  return out;
}

test('docs: the document is valid OpenAPI 3.1', async () => {
  assert.match(doc.openapi, /^3\.1\./);
  const v = new Validator();
  const res = await v.validate(structuredClone(doc));
  assert.ok(res.valid, JSON.stringify(res.errors, null, 1)?.slice(0, 2000));

  // Every local $ref points at something.
  const resolve = (ref) => ref.slice(2).split('/').reduce((o, k) => o?.[k], doc);
  const walk = (node, where) => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}/${i}`));
    else if (node && typeof node === 'object') {
      if (typeof node.$ref === 'string') {
        assert.ok(node.$ref.startsWith('#/'), `${where}: external $ref`);
        assert.ok(resolve(node.$ref) !== undefined, `${where}: dangling ${node.$ref}`);
      }
      for (const [k, n] of Object.entries(node)) walk(n, `${where}/${k}`);
    }
  };
  walk(doc, '#');
});

test('docs: every server route is documented and every documented route exists', () => {
  const server = serverRoutes();
  const docs = documented();
  assert.ok(server.size >= 20, `found ${server.size} routes in src/http`);

  const undocumented = [...server].filter((r) => !docs.has(r));
  assert.deepEqual(undocumented, [], 'routes missing from openapi.json');

  // x-planned marks a route documented ahead of its implementation; it
  // must go as soon as the route exists.
  const missing = [...docs].filter(([r, d]) => !server.has(r) && !d.op['x-planned']).map(([r]) => r);
  assert.deepEqual(missing, [], 'documented routes the server does not have');
  const stale = [...docs].filter(([r, d]) => server.has(r) && d.op['x-planned']).map(([r]) => r);
  assert.deepEqual(stale, [], 'x-planned on routes that exist');
});

test('docs: every operation has an id, a summary, success and error responses', () => {
  const ids = new Set();
  for (const [route, { path: p, op }] of documented()) {
    assert.ok(op.operationId && !ids.has(op.operationId), `${route}: unique operationId`);
    ids.add(op.operationId);
    assert.ok(op.summary, `${route}: summary`);
    const codes = Object.keys(op.responses);
    assert.ok(codes.some((c) => /^2/.test(c)), `${route}: a 2xx response`);
    const secured = (op.security ?? doc.security ?? []).some((s) => 'bearerAuth' in s);
    if (secured) assert.ok(codes.includes('401'), `${route}: documents 401`);
    if (!p.startsWith('/api/health') && !p.startsWith('/api/docs') && p !== '/api/metrics') {
      assert.ok(codes.some((c) => /^4/.test(c)), `${route}: documents its 4xx errors`);
    }
    for (const [code, r] of Object.entries(op.responses)) {
      const resp = r.$ref ? doc.components.responses[r.$ref.split('/').pop()] : r;
      assert.ok(resp?.description, `${route} ${code}: description`);
      if (/^[45]/.test(code)) {
        const schema = resp.content?.['application/json']?.schema;
        assert.ok(schema, `${route} ${code}: error body schema`);
      }
    }
    if (op.requestBody) {
      const content = op.requestBody.content;
      assert.ok(Object.values(content).every((c) => c.schema), `${route}: request schema`);
    }
    for (const param of (op.parameters || []).map((x) => (x.$ref ? doc.components.parameters[x.$ref.split('/').pop()] : x))) {
      if (param.in === 'path') assert.ok(p.includes(`{${param.name}}`), `${route}: path param ${param.name}`);
    }
    for (const m of p.matchAll(/\{([^}]+)\}/g)) {
      const names = (op.parameters || []).map((x) => (x.$ref ? doc.components.parameters[x.$ref.split('/').pop()] : x).name);
      assert.ok(names.includes(m[1]), `${route}: declares path param ${m[1]}`);
    }
  }
});

test('docs: every documented route answers (no router 404 or 405)', async () => {
  const fakeId = '0123456789abcdef01234567';
  for (const [route, { path: p, method, op }] of documented()) {
    if (op['x-planned']) continue;
    const url = p.replace(/\{[^}]+\}/g, fakeId);
    const secured = (op.security ?? []).some((s) => 'bearerAuth' in s);
    const opts = { token: secured ? user.token : undefined };
    if (['post', 'put', 'patch'].includes(method)) opts.body = {};
    const r = await api(method.toUpperCase(), url, opts);
    assert.notEqual(r.status, 405, `${route}: 405`);
    const routerMiss = r.status === 404 && typeof r.body?.message === 'string' &&
      r.body.message.startsWith('Cannot ');
    assert.ok(!routerMiss, `${route}: the router does not know it (${r.text})`);
    assert.ok(r.status < 500 || r.status === 503, `${route}: ${r.status}`);
    // Documented status codes: what came back is one of them.
    assert.ok(Object.keys(op.responses).includes(String(r.status)),
      `${route}: answered ${r.status}, documented ${Object.keys(op.responses)}`);
  }

  // And an undocumented path is a router 404 (the probe can tell).
  const miss = await api('GET', '/api/not-a-route');
  assert.equal(miss.status, 404);
  assert.match(miss.body.message, /^Cannot GET/);
});

test('docs: /api/docs is a page that renders the document with swagger-ui', async (t) => {
  const page = await fetch(`${BASE}/api/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  const scripts = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(scripts.includes('/vendor/swagger-ui/swagger-ui-bundle.js'));
  for (const s of scripts.filter((x) => x.startsWith('/'))) {
    const r = await fetch(`${BASE}${s}`);
    assert.equal(r.status, 200, s);
    await r.arrayBuffer();
  }

  const browser = await launchChromium();
  if (browser === null) {
    t.skip('no chromium to render the page');
    return;
  }
  try {
    const p = await browser.newPage();
    const errors = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${BASE}/api/docs`);
    await p.waitForSelector('.opblock', { timeout: 15000 });
    const count = await p.locator('.opblock').count();
    assert.equal(count, documented().size, 'one block per operation');
    assert.ok(await p.locator('text=lnk-chat API').count() > 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
