import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
const children = () => { const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' '); return (Number(f[13]) + Number(f[14])) / 100; };
let c0: NodeJS.CpuUsage; let w0 = 0; let k0 = 0;
beforeAll(() => { c0 = process.cpuUsage(); w0 = performance.now(); k0 = children(); });
afterAll(() => {
  const c = process.cpuUsage(c0);
  appendFileSync('/tmp/cpu.log', `${((c.user + c.system) / 1e6).toFixed(1)} ${(children() - k0).toFixed(1)} ${((performance.now() - w0) / 1000).toFixed(1)} ${expect.getState().testPath?.replace(/.*\/test\//, '')}\n`);
});
