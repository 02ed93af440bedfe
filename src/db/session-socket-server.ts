/**
 * Serves one PGlite on a loopback TCP port to several client connections at
 * once: the server's own pool and, while the server owns DATA_DIR, the
 * operator commands (db/data-dir-owner.ts).
 *
 * Why not pglite-socket's PGLiteSocketServer as it is: PGlite is ONE backend
 * session, and its QueryQueueManager (0.2.17) interleaves the connections
 * message by message, keeping a connection's turn only inside an explicit
 * transaction block. A connection's Parse/Bind/Execute/Sync outside BEGIN is
 * not kept together, so another connection's Parse can replace the unnamed
 * statement between them ("bind message supplies 2 parameters, but prepared
 * statement requires 1"). The version installed has no option for this, so we
 * reuse its exported per-connection PGLiteSocketHandler (framing, SSL and
 * cancel requests, clean-up on close) and give it our own queue:
 *
 * A connection holds the session from its first message until PGlite answers
 * ReadyForQuery with status Idle, i.e. until a Sync or simple Query has
 * finished outside any transaction. Messages of other connections wait in
 * arrival order. So a transaction, an extended-protocol round trip and a COPY
 * run whole, and the CLI's work and the server's requests alternate between
 * them instead of interleaving inside them. A long CLI transaction (an import)
 * makes the server's requests wait for its end, as a table lock would.
 *
 * Still shared, being one session: SET (we issue none outside transactions),
 * session advisory locks (they exclude nobody), temporary tables.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';

interface Job {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

/** ReadyForQuery ('Z', length 5) with transaction status Idle ('I'). */
const READY_IDLE = [0x5a, 0, 0, 0, 5, 0x49];

function message(type: string, body: string): Uint8Array {
  const payload = Buffer.from(`${body}\0`);
  const out = Buffer.alloc(5 + payload.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/**
 * What a connection that vanished mid-turn may have left behind: a COPY FROM
 * STDIN (CopyFail ends it; outside COPY it is ignored), an extended-protocol
 * sequence without its Sync (Sync ends it), an open transaction (ROLLBACK).
 */
const COPY_FAIL = message('f', 'client disconnected');
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
const ROLLBACK = message('Q', 'ROLLBACK');

/** The queue a PGLiteSocketHandler calls: enqueue, clearQueueForHandler, clearTransactionIfNeeded. */
class SessionQueue {
  private waiting: Job[] = [];
  /** The connection whose turn it is; null when the session is idle. */
  private holder: number | null = null;
  private draining = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ handlerId, message, onData, resolve, reject });
      void this.drain();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    const dropped = this.waiting.filter((job) => job.handlerId === handlerId);
    this.waiting = this.waiting.filter((job) => job.handlerId !== handlerId);
    for (const job of dropped) job.reject(new Error('Handler disconnected'));
  }

  /** Called when a connection goes away: if it held the session, end what it left open and pass the turn on. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.holder !== handlerId) return;
    // Answers are dropped; a stream callback of our own, since PGlite keeps the last one it was given.
    const run = (message: Uint8Array) => this.db.execProtocolRawStream(message, { onRawData: () => undefined });
    await this.db
      .runExclusive(async () => {
        if (this.db.closed) return;
        await run(COPY_FAIL);
        await run(SYNC);
        if (this.db.isInTransaction()) await run(ROLLBACK);
      })
      .catch(() => undefined);
    if (this.holder === handlerId) this.holder = null;
    void this.drain();
  }

  private next(): Job | undefined {
    const index = this.holder === null ? 0 : this.waiting.findIndex((job) => job.handlerId === this.holder);
    return index < 0 ? undefined : this.waiting.splice(index, 1)[0];
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let job = this.next(); job; job = this.next()) {
        this.holder = job.handlerId;
        const tail: number[] = [];
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(job.message, {
              onRawData: (data) => {
                // `data` is a view on PGlite's memory: keep copies of the last bytes only.
                bytes += data.length;
                tail.push(...data.subarray(Math.max(0, data.length - READY_IDLE.length)));
                tail.splice(0, Math.max(0, tail.length - READY_IDLE.length));
                job.onData(data);
              },
            }),
          );
        } catch (error) {
          job.reject(error as Error);
          continue;
        }
        if (tail.length === READY_IDLE.length && tail.every((b, i) => b === READY_IDLE[i])) this.holder = null;
        job.resolve(bytes);
      }
    } finally {
      this.draining = false;
    }
  }
}

export interface SessionSocketServer {
  /** host:port the server listens on. */
  address: string;
  /** Closes every client socket (ending what it left open) and the listener; PGlite stays open. */
  stop(): Promise<void>;
}

/** Serves `db` on 127.0.0.1 (port chosen by the OS); refuses connections beyond `maxConnections`. */
export async function serveSession(db: PGlite, maxConnections: number): Promise<SessionSocketServer> {
  // The handler's option is typed with pglite-socket's unexported queue class; ours has the same three methods.
  const queryQueue = new SessionQueue(db) as unknown as PGLiteSocketHandlerOptions['queryQueue'];
  const handlers = new Set<PGLiteSocketHandler>();
  let stopping = false;
  const server: Server = createServer((socket: Socket) => {
    if (stopping || handlers.size >= maxConnections) {
      socket.destroy();
      return;
    }
    const handler = new PGLiteSocketHandler({ queryQueue, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    void handler.attach(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...handlers].map((handler) => handler.detach(true)));
      handlers.clear();
      await closed;
    },
  };
}
