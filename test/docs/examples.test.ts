/**
 * Every curl example in README.md and docs/*.md runs against a live server and answers the status
 * it documents: 200 unless the line ends with a comment `# → NNN`. `$B` is the endpoint's URL,
 * `$TOKEN` (or `<the printed token>`) a valid key, and `http://127.0.0.1:8000` the server's origin.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, exampleCustomers, type TestApp } from '../helpers/app.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const example = JSON.parse(readFileSync(new URL('../fixtures/list-response-example.json', import.meta.url), 'utf8')) as { results: DemoCustomer[] };

interface Example {
  file: string;
  line: number;
  command: string;
  expected: number;
}

/** The curl lines of the shell code blocks, continuation lines joined. */
function curlExamples(): Example[] {
  const found: Example[] = [];
  for (const file of DOCS) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    let inShell = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^```/.test(line)) {
        inShell = !inShell && /^```(sh|bash|shell)\s*$/.test(line);
        continue;
      }
      if (!inShell || !line.startsWith('curl ')) continue;
      let command = line;
      const start = i;
      while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
      const expected = /#\s*→\s*(\d{3})\s*$/.exec(command);
      found.push({ file, line: start + 1, command: command.replace(/\s+#.*$/, ''), expected: expected ? Number(expected[1]) : 200 });
    }
  }
  return found;
}

/** POSIX shell words: single and double quotes, backslash escapes outside single quotes; no expansions. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word += command[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i]!;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** curl's arguments with what writes files or the terminal taken out; the status code is printed instead. */
function curlArgs(command: string, vars: { origin: string; token: string }): string[] {
  const substituted = command
    .replaceAll('$B', `${vars.origin}/api/v1/oms/customers/list-simple/`)
    .replaceAll('$TOKEN', vars.token)
    .replaceAll('<the printed token>', vars.token)
    .replaceAll('http://127.0.0.1:8000', vars.origin);
  const words = shellWords(substituted).slice(1);
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '>' || w === '-o' || w === '--output') i++;
    else if (/^-[OJ]+$/.test(w)) continue;
    else args.push(w);
  }
  return [...args, '-s', '-o', '/dev/null', '-w', '%{http_code}'];
}

const examples = curlExamples();

describe('documented curl examples', () => {
  let t: TestApp;
  let origin: string;
  let cwd: string;

  beforeAll(async () => {
    t = await createTestApp({ customers: exampleCustomers(example.results) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    cwd = mkdtempSync(join(tmpdir(), 'oms-doc-examples-'));
  });
  afterAll(async () => {
    await t?.close();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('finds the examples (README and docs/api.md have several)', () => {
    expect(examples.filter((e) => e.file === 'README.md').length).toBeGreaterThan(0);
    expect(examples.filter((e) => e.file === 'docs/api.md').length).toBeGreaterThan(3);
  });

  it.each(examples.map((e) => [`${e.file}:${e.line}`, e] as const))('%s answers as documented', async (_where, e) => {
    const status = await new Promise<string>((resolve, reject) =>
      execFile('curl', curlArgs(e.command, { origin, token: t.token }), { cwd, timeout: 20_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout)),
    );
    expect(Number(status), e.command).toBe(e.expected);
  });
});
