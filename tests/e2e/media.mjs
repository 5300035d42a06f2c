// Helpers for the upload and file-serving suites: real PNG files built
// here (zlib + CRC-32), multipart uploads, raw HTTP for paths that fetch
// would normalise, and a listing of the upload directory.
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import zlib from 'node:zlib';
import { BASE } from './helpers.mjs';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

// A valid PNG. colorType 2 = RGB (8 bit), 0 = grey (bitDepth 1 or 8).
// pixel(x, y) gives [r, g, b] (RGB) or v (grey 8 bit); 1-bit images are
// all zeros. Rows are built one at a time, so huge images stay cheap.
export function makePng(width, height, { colorType = 2, bitDepth = 8, pixel } = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const channels = colorType === 2 ? 3 : 1;
  const rowLen = 1 + Math.ceil((width * channels * bitDepth) / 8);
  const rows = [];
  const zero = Buffer.alloc(rowLen);
  for (let y = 0; y < height; y++) {
    if (!pixel) { rows.push(zero); continue; }
    const row = Buffer.alloc(rowLen);
    for (let x = 0; x < width; x++) {
      const v = pixel(x, y);
      if (channels === 3) {
        row[1 + x * 3] = v[0]; row[2 + x * 3] = v[1]; row[3 + x * 3] = v[2];
      } else {
        row[1 + x] = v;
      }
    }
    rows.push(row);
  }
  const idat = zlib.deflateSync(Buffer.concat(rows));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const fixture = (name) =>
  fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

// POST /api/upload/chat-files with one file (or a ready FormData).
export async function upload(token, data, filename, { field = 'file', type, form } = {}) {
  let body = form;
  if (!body) {
    body = new FormData();
    body.append(field, new Blob([data], type ? { type } : {}), filename);
  }
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/upload/chat-files`, { method: 'POST', headers, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text };
}

// One raw HTTP/1.1 exchange: the request line is sent exactly as given.
// Resolves {status, headers, body} (body as Buffer).
export function raw(request, { timeout = 5000, send } = {}) {
  const url = new URL(BASE);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(url.port), url.hostname);
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('raw: timeout')); }, timeout);
    sock.on('connect', () => {
      sock.write(request);
      if (send) send(sock);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => {
      // The server may close while we still write (early 413): keep what came.
      if (chunks.length === 0) { clearTimeout(timer); reject(e); }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, sep < 0 ? all.length : sep).toString('latin1');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: Number((statusLine || '').split(' ')[1]),
        headers,
        body: sep < 0 ? Buffer.alloc(0) : all.subarray(sep + 4),
      });
    });
  });
}

export const rawGet = (p) => raw(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

// Every file under UPLOAD_PATH (relative paths, hidden files included).
export function listUploads() {
  const root = process.env.UPLOAD_PATH;
  if (!root) throw new Error('UPLOAD_PATH is not set (run through scripts/test)');
  const out = [];
  const walk = (dir) => {
    let entries;
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p); else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

export const uploadRoot = () => process.env.UPLOAD_PATH;
