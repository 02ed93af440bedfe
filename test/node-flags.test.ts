/**
 * Node's flags for the service (docs/design.md, "Node's flags"): `npm start`, the Dockerfile and
 * the benchmark (bench/processes.ts NODE_FLAGS, which the scale tests use too) run the same ones,
 * so that what is measured is what is served, and this Node accepts them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../bench/processes.js';

const root = new URL('..', import.meta.url).pathname;
const flagsBefore = (words: readonly string[], script: string): string[] => {
  const at = words.indexOf(script);
  expect(at, `${script} in ${words.join(' ')}`).toBeGreaterThan(0);
  return words.slice(words.lastIndexOf('node', at) + 1, at);
};

describe("Node's flags for the service", () => {
  it('npm start runs dist/server.js with the benchmark’s flags', () => {
    const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    const words = scripts.start!.split(/\s+/);
    expect(flagsBefore(words, 'dist/server.js')).toEqual(NODE_FLAGS);
  });

  it('the Dockerfile’s CMD runs dist/server.js with the same flags', () => {
    const cmd = readFileSync(`${root}Dockerfile`, 'utf8').split('\n').find((line) => line.startsWith('CMD '));
    const words = JSON.parse(cmd!.slice(4)) as string[];
    expect(flagsBefore(words, 'dist/server.js')).toEqual(NODE_FLAGS);
  });

  it('this Node accepts them, worker threads included', () => {
    const script = "new (require('node:worker_threads').Worker)('require(\"node:worker_threads\").parentPort.postMessage(1)', { eval: true }).once('message', (m) => console.log('worker said', m))";
    expect(execFileSync(process.execPath, [...NODE_FLAGS, '-e', script], { encoding: 'utf8' }).trim()).toBe('worker said 1');
  });
});
