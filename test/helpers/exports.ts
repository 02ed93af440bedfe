/**
 * Export clients over real HTTP for the overload tests: a table big enough that an export
 * cannot finish into socket buffers, a download that stops reading (and so holds its export),
 * and a plain full read.
 */
import http from 'node:http';
import type pg from 'pg';

/**
 * Customers for exports too big for loopback socket buffers: `count` of them, with ids from
 * `firstId` on. A row is ~220 bytes of JSON; `wide` rows carry 200 more hexadecimal characters in
 * each name (~650 bytes), so that fewer rows make as many bytes: on the embedded database every
 * row inserted and exported costs tens of microseconds of this process's CPU.
 */
export async function insertMany(pool: pg.Pool, count: number, { firstId = 1, wide = false }: { firstId?: number; wide?: boolean } = {}): Promise<void> {
  await pool.query(`INSERT INTO channel (id, name) VALUES (1, 'One') ON CONFLICT (id) DO NOTHING`);
  const padding = (seed: string) => (wide ? ` || ' ' || repeat(md5(${seed}::text), 6)` : '');
  await pool.query(
    `INSERT INTO customer (id, created_date, modified_date, omnitron_id, email, first_name, last_name, phone_number, erp_code, channel_id)
     SELECT g, timestamptz '2020-01-01Z' + g * interval '1 second', timestamptz '2021-01-01Z', g,
            'customer' || g || '@example.com', 'First name ' || g${padding('g')}, 'Last name ' || g${padding('(-g)')},
            '+90 555 ' || g, 'ERP-' || g, 1
     FROM generate_series($2::int, $2::int + $1::int - 1) AS g`,
    [count, firstId],
  );
}

/** Wide rows (insertMany's `wide`) whose JSON export (~13 MB) is far more than loopback socket buffers hold. */
export const HELD_EXPORT_ROWS = 20_000;

export interface HeldExport {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body so far; for a refused export, all of it. */
  body(): string;
  /** Hangs up mid-download. */
  abort(): void;
}

/**
 * Starts `GET url` and, for a 200, reads nothing once the headers are in: the export then
 * holds its slot (and its connection) until abort(). Any other status is read to its end.
 */
export function startExport(url: string, token: string, method = 'GET'): Promise<HeldExport> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { authorization: `Token ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      const held: HeldExport = {
        status: res.statusCode!, headers: res.headers, body: () => Buffer.concat(chunks).toString('utf8'), abort: () => req.destroy(),
      };
      if (res.statusCode === 200 && method === 'GET') {
        res.pause();
        resolve(held);
        return;
      }
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(held));
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

/** Reads a whole response. */
export function fetchAll(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { authorization: `Token ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

