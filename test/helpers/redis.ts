/**
 * The real Redis the throttle tests run against (127.0.0.1:6379, started by .ci/run), read and
 * cleaned with a plain client, and an address where no Redis answers.
 */
import net from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

async function withAdmin<T>(work: (admin: Redis) => Promise<T>): Promise<T> {
  const admin = new Redis(REDIS_URL);
  try {
    return await work(admin);
  } finally {
    admin.disconnect();
  }
}

/** Every key under `prefix`, sorted. */
export const keysUnder = (prefix: string): Promise<string[]> => withAdmin(async (admin) => (await admin.keys(`${prefix}*`)).sort());

/** Deletes every key under each prefix. */
export const deleteKeysUnder = (...prefixes: string[]): Promise<void> =>
  withAdmin(async (admin) => {
    for (const prefix of prefixes) {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  });

/** A loopback port nothing listens on: a Redis that refuses every connection. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
