/**
 * A request rate as DRF's throttles write it (`1000/minute`): a pure parser, read by the config
 * (THROTTLE_RATE) and by the throttle (rest/throttling.ts).
 */

export interface Rate {
  numRequests: number;
  durationSeconds: number;
}

/** Seconds in a period, by the period's first letter. */
const PERIODS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

const isPeriod = (letter: string): letter is keyof typeof PERIODS => Object.hasOwn(PERIODS, letter);

/**
 * `parse_rate`: `100/second`, `1000/minute`, `5/hour`, `20/day`. DRF reads only the period's
 * first letter (`100/m`, `100/min`, `100/minute` are one rate); so do we, but only lower-case
 * letters are accepted, so a typo such as `100/mintue` still works as DRF's would and
 * `100/10s` or `100 per minute` are refused instead of silently meaning something else.
 */
export function parseRate(text: string): Rate {
  const [, count = '', letter = ''] = /^(\d+)\/([a-z])[a-z]*$/.exec(text.trim()) ?? [];
  if (!isPeriod(letter)) throw new Error('must look like 100/second, 1000/minute, 50/hour or 5000/day');
  const numRequests = Number(count);
  if (!Number.isSafeInteger(numRequests) || numRequests < 1) throw new Error('must allow at least 1 request');
  return { numRequests, durationSeconds: PERIODS[letter] };
}
