/**
 * CPU steal, from /proc/stat: the share of this machine's CPU time that the hypervisor gave to
 * other guests instead. On the shared 2-core machines the benchmark runs on, the same build
 * measured the floor's page 1 at 1,879 and at 3,287 req/s within fifteen minutes (RESULTS.md,
 * "Eighth look"); steal tells a slow round that was the machine from one that was the change.
 */
import { readFileSync } from 'node:fs';

/** Jiffies since boot, all CPUs: the steal among them, the busy ones, and every state's together. */
export interface CpuTimes {
  steal: number;
  /** user, nice, system, irq and softirq: the work this machine did. */
  busy: number;
  total: number;
}

/** The `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal …), or null off Linux. */
export function cpuTimes(stat?: string): CpuTimes | null {
  let text = stat;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/stat', 'utf8');
    } catch {
      return null;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
  const [user, nice, system, , , irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
  return { steal, busy: user + nice + system + irq + softirq, total: fields.reduce((a, b) => a + b, 0) };
}

/** Steal's share of the CPU time between two readings (0..1), or null when either is missing or no time passed. */
export function stealShare(from: CpuTimes | null, to: CpuTimes | null): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return (to.steal - from.steal) / (to.total - from.total);
}

/** Runs `work` and says how much of the machine's CPU time was stolen meanwhile. */
export async function withSteal<T>(work: () => Promise<T>): Promise<{ result: T; steal: number | null }> {
  const from = cpuTimes();
  const result = await work();
  return { result, steal: stealShare(from, cpuTimes()) };
}

/** A share as the tables print it: "12%", or "n/a". */
export const stealPct = (share: number | null | undefined): string => (share == null ? 'n/a' : `${Math.round(share * 100)}%`);
