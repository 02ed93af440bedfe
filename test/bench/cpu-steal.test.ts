/** The benchmark's CPU steal (bench/cpu-steal.ts): read from /proc/stat's `cpu` line, as a share between two readings. */
import { describe, expect, it } from 'vitest';
import { cpuTimes, stealPct, stealShare } from '../../bench/cpu-steal.js';

// user nice system idle iowait irq softirq steal guest guest_nice
const STAT = (steal: number, idle: number) => `cpu  100 10 50 ${idle} 5 0 5 ${steal} 40 0\ncpu0 50 5 25 ${idle / 2} 2 0 2 ${steal / 2} 20 0\nintr 1 2 3\n`;

describe('CPU steal', () => {
  it('reads the all-CPU line: steal, the busy states, and every state but guest time, which user and nice already hold', () => {
    expect(cpuTimes(STAT(30, 800))).toEqual({ steal: 30, busy: 100 + 10 + 50 + 0 + 5, total: 100 + 10 + 50 + 800 + 5 + 0 + 5 + 30 });
  });

  it('is the stolen part of the time between two readings', () => {
    // 100 jiffies passed (+60 idle, +40 steal): 40%.
    expect(stealShare(cpuTimes(STAT(30, 800)), cpuTimes(STAT(70, 860)))).toBeCloseTo(0.4);
    expect(stealPct(0.4)).toBe('40%');
  });

  it('says nothing where it cannot tell: no cpu line, no time passed, no reading', () => {
    expect(cpuTimes('intr 1 2 3\n')).toBeNull();
    expect(stealShare(cpuTimes(STAT(30, 800)), cpuTimes(STAT(30, 800)))).toBeNull();
    expect(stealShare(null, cpuTimes(STAT(30, 800)))).toBeNull();
    expect(stealPct(null)).toBe('n/a');
  });

  it('reads this machine where it has /proc/stat', () => {
    const now = cpuTimes();
    if (process.platform === 'linux') expect(now?.total).toBeGreaterThan(0);
    else expect(now).toBeNull();
  });
});
