/**
 * Ours: caps on concurrent `limit=all` exports, per process and per owner (a user), so that
 * slow downloads, each holding a pool connection from its first byte to its last, can never
 * take every connection and starve page requests. A slot is taken before the export opens its
 * snapshot; its release function is safe to call any number of times and frees it once.
 */

export interface ExportSlotLimits {
  /** Exports at once in this process. */
  total: number;
  /** Exports at once per owner. */
  perOwner: number;
}

export interface ExportSlots {
  /** A release function, or null when either cap is reached (the caller answers 429). */
  acquire(owner: string): (() => void) | null;
  /** Exports running now (tests, metrics). */
  inUse(): number;
}

export function createExportSlots({ total, perOwner }: ExportSlotLimits): ExportSlots {
  let running = 0;
  const byOwner = new Map<string, number>();

  return {
    acquire(owner) {
      const mine = byOwner.get(owner) ?? 0;
      if (running >= total || mine >= perOwner) return null;
      running++;
      byOwner.set(owner, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        running--;
        const left = (byOwner.get(owner) ?? 1) - 1;
        if (left > 0) byOwner.set(owner, left);
        else byOwner.delete(owner);
      };
    },
    inUse: () => running,
  };
}

/** EXPORT_CONCURRENCY's default: a third of the pool, at least one. */
export function defaultExportConcurrency(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 3));
}
