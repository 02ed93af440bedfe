#!/usr/bin/env node
/**
 * One-off tool: parses the original service's transcript (original-transcript.md) into
 * test/fixtures/transcript-cases.json, so tests can replay it without reading /work/shared.
 *
 * Usage (from the repository root): node scripts/extract-transcript.mjs [transcript.md] [out.json]
 * Defaults: ../shared/spec/original-transcript.md → test/fixtures/transcript-cases.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const input = resolve(process.argv[2] ?? resolve(root, '../shared/spec/original-transcript.md'));
const output = resolve(process.argv[3] ?? resolve(root, 'test/fixtures/transcript-cases.json'));

const FENCE = '```';

/** Splits a shell command line the way sh would for the quoting curl commands use ('…', "…", bare words). */
function shellWords(line) {
  const words = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && line[i] !== ' ') {
      const c = line[i];
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        let j = i + 1;
        while (line[j] !== '"') {
          if (line[j] === '\\' && '"\\$`'.includes(line[j + 1])) j++;
          word += line[j++];
        }
        i = j + 1;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/** Reads a curl command into method, path (query as sent), explicit headers and body. */
function parseCurl(line) {
  const words = shellWords(line.replace(/^\$ /, ''));
  if (words[0] !== 'curl') throw new Error(`not a curl command: ${line}`);
  const headers = {};
  let method;
  let url;
  let body;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === '-s') continue;
    if (w === '-H') {
      const h = words[++i];
      const colon = h.indexOf(':');
      headers[h.slice(0, colon)] = h.slice(colon + 1).trim();
    } else if (w === '-X') method = words[++i];
    else if (w === '-d' || w === '--data-binary') body = words[++i];
    else if (w.startsWith('-')) throw new Error(`unknown curl option ${w}`);
    else url = w;
  }
  // curl switches to POST when given a body and no -X.
  method ??= body === undefined ? 'GET' : 'POST';
  const m = /^https?:\/\/[^/]+(\/.*)$/.exec(url);
  if (!m) throw new Error(`bad url ${url}`);
  return { method, path: m[1], headers, body };
}

/** Parses the Python literals the transcript prints: str, bytes, int, None, and lists of them. */
function parsePython(src) {
  let i = 0;
  const ws = () => { while (src[i] === ' ') i++; };
  function str(isBytes) {
    const q = src[i++];
    const bytes = [];
    const pushChar = (ch) => { for (const b of Buffer.from(ch, 'utf8')) bytes.push(b); };
    while (src[i] !== q) {
      let c = src[i++];
      if (c === '\\') {
        c = src[i++];
        const simple = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };
        if (c in simple) pushChar(simple[c]);
        else if (c === 'x') {
          const code = parseInt(src.slice(i, i + 2), 16);
          i += 2;
          if (isBytes) bytes.push(code);
          else pushChar(String.fromCodePoint(code));
        } else if (c === 'u' || c === 'U') {
          const n = c === 'u' ? 4 : 8;
          pushChar(String.fromCodePoint(parseInt(src.slice(i, i + n), 16)));
          i += n;
        } else throw new Error(`unknown escape \\${c} in ${src}`);
      } else {
        const cp = src.codePointAt(i - 1);
        const ch = String.fromCodePoint(cp);
        i += ch.length - 1;
        pushChar(ch);
      }
    }
    i++;
    return Buffer.from(bytes).toString('utf8');
  }
  function value() {
    ws();
    if (src[i] === '[') {
      i++;
      const items = [];
      ws();
      while (src[i] !== ']') {
        items.push(value());
        ws();
        if (src[i] === ',') i++;
        ws();
      }
      i++;
      return items;
    }
    if (src[i] === 'b' && (src[i + 1] === "'" || src[i + 1] === '"')) {
      i++;
      return str(true);
    }
    if (src[i] === "'" || src[i] === '"') return str(false);
    if (src.startsWith('None', i)) {
      i += 4;
      return null;
    }
    const m = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (!m) throw new Error(`cannot parse python literal at ${src.slice(i)}`);
    i += m[0].length;
    return Number(m[0]);
  }
  const v = value();
  ws();
  if (i !== src.length) throw new Error(`trailing text in python literal: ${src.slice(i)}`);
  return v;
}

/** Decodes the transcript's CSV notation: every LF is shown as `<LF>` + a real newline, every CR as `<CR>`. */
function decodeCrLf(lines) {
  const text = lines.join('\n');
  if (/\n/.test(text.replaceAll('<LF>\n', ''))) throw new Error('newline not announced by <LF>');
  return text.replaceAll('<LF>\n', '\n').replaceAll('<CR>', '\r');
}

function parseBlock(title, section, lines) {
  let i = 0;
  let request;
  if (lines[0].startsWith('$ ')) {
    request = parseCurl(lines[0]);
    i = 1;
  }
  const statusLine = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[i++]);
  if (!statusLine) throw new Error(`${title}: no status line`);
  const responseHeaders = {};
  while (!lines[i].startsWith('--- ')) {
    const h = lines[i++];
    const colon = h.indexOf(': ');
    responseHeaders[h.slice(0, colon)] = h.slice(colon + 2);
  }
  const marker = lines[i++];
  const rest = lines.slice(i);
  const c = { title, section };
  if (request) {
    Object.assign(c, { method: request.method, path: request.path, requestHeaders: request.headers });
    if (request.body !== undefined) c.requestBody = request.body;
  } else {
    // The two HEAD cases were sent over a raw socket, so the transcript has no command line; the title says it all.
    const withToken = /\(with token\)/.test(title);
    Object.assign(c, {
      method: 'HEAD',
      path: '/api/v1/oms/customers/list-simple/',
      requestHeaders: withToken ? { Authorization: 'Token $TOKEN' } : {},
      requestInferred: true,
    });
  }
  c.status = Number(statusLine[1]);
  c.statusText = statusLine[2];
  c.responseHeaders = responseHeaders;

  let m;
  if ((m = /^--- body \((\d+) bytes\)$/.exec(marker))) {
    // The transcript adds a newline before the fence unless the body already ends in one; the byte count decides.
    c.bodyLength = Number(m[1]);
    const text = rest.join('\n');
    c.body = Buffer.byteLength(text) === c.bodyLength ? text : text.replace(/\n$/, '');
    c.bodyComplete = true;
  } else if ((m = /^--- body \((\d+) bytes, first (\d+) shown\)$/.exec(marker))) {
    if (rest.length !== 1 || !rest[0].endsWith(' ...')) throw new Error(`${title}: odd cut body`);
    c.bodyLength = Number(m[1]);
    // The prefix is the first N bytes, minus any character the cut split in two.
    c.body = rest[0].slice(0, -4);
    c.bodyComplete = false;
  } else if ((m = /^--- body \((\d+) bytes; each CR shown as <CR>, each LF as <LF> \+ newline\)$/.exec(marker))) {
    c.bodyLength = Number(m[1]);
    // A complete body ends in <LF> + newline (the block's last line is empty); a cut one stops mid-line.
    c.body = decodeCrLf(rest);
    c.bodyComplete = Buffer.byteLength(c.body) === c.bodyLength;
  } else if ((m = /^--- body \((\d+) bytes, Microsoft Excel 2007\+\); cells via openpyxl:$/.exec(marker))) {
    c.bodyLength = Number(m[1]);
    c.body = null;
    c.bodyComplete = false;
    c.bodyBinary = 'xlsx';
    const sheet = /^sheet '(.*)', (\d+) rows x (\d+) cols$/.exec(rest[0]);
    const rows = rest.slice(1).filter((l) => l !== '').map(parsePython);
    c.xlsx = { sheet: sheet[1], rows: Number(sheet[2]), cols: Number(sheet[3]), cells: rows };
    if (rows.length !== c.xlsx.rows) throw new Error(`${title}: xlsx row count`);
  } else if (marker === '--- body (empty)') {
    c.bodyLength = 0;
    c.body = '';
    c.bodyComplete = true;
  } else if ((m = /^--- (\d+) body bytes followed the headers: (b'.*')$/.exec(marker))) {
    c.bodyLength = Number(m[1]);
    c.body = parsePython(m[2]);
    c.bodyComplete = Buffer.byteLength(c.body) === c.bodyLength;
    c.note = 'HEAD over a raw socket: the original (gunicorn) sent a body after the headers; only its first bytes are shown';
  } else throw new Error(`${title}: unknown body marker ${marker}`);

  if (c.bodyComplete && Buffer.byteLength(c.body) !== c.bodyLength) {
    throw new Error(`${title}: body is ${Buffer.byteLength(c.body)} bytes, transcript says ${c.bodyLength}`);
  }
  const cl = responseHeaders['Content-Length'];
  if (cl !== undefined && Number(cl) !== c.bodyLength) throw new Error(`${title}: Content-Length ${cl} ≠ ${c.bodyLength}`);
  return c;
}

function extract(markdown) {
  const lines = markdown.split('\n');
  const cases = [];
  let section = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('## ')) section = line.slice(3);
    else if (line.startsWith('#### ')) {
      const title = line.slice(5);
      if (lines[i + 1] !== FENCE) throw new Error(`${title}: no fence`);
      let j = i + 2;
      while (lines[j] !== FENCE) j++;
      cases.push(parseBlock(title, section, lines.slice(i + 2, j)));
      i = j;
    }
  }
  return cases;
}

const cases = extract(readFileSync(input, 'utf8'));
const declared = /answering (\d+) requests/.exec(readFileSync(input, 'utf8'))?.[1];
if (declared && Number(declared) !== cases.length) throw new Error(`found ${cases.length} cases, transcript says ${declared}`);
writeFileSync(output, JSON.stringify(cases, null, 2) + '\n');
console.log(`${cases.length} cases → ${output}`);
