/**
 * A throwaway scale-out topology built from the real components, for `npm run test:scale`:
 * a PostgreSQL primary and a streaming replica (initdb, pg_ctl, pg_basebackup -R), PgBouncer in
 * transaction pooling in front of the primary, and HAProxy in front of service processes. Every
 * piece lives in one temporary directory on free loopback ports and is stopped and removed by
 * `teardown()`, which also undoes a half-built topology; the machine's own PostgreSQL is never used.
 *
 * The PostgreSQL tools refuse to run as root (and PgBouncer too), so they run as the `postgres`
 * OS user in a directory it owns when this process is root.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../bench/processes.js';

const run = promisify(execFile);

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** Tools the topology needs, by the Debian package that brings each. */
const PACKAGES: Record<string, string> = { pgbouncer: 'pgbouncer', haproxy: 'haproxy' };
const DATABASE = 'oms';

/** The uid/gid to run PostgreSQL's tools as: postgres when we are root, else ourselves. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const [, , uid, gid] = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no postgres user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Installs pgbouncer and haproxy with apt when missing (once per machine). */
export async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(PACKAGES)) {
    const found = await run('sh', ['-c', `command -v ${command}`]).then(() => true, () => false);
    if (!found) missing.push(pkg);
  }
  if (missing.length === 0) return;
  const apt = (args: string[]) =>
    run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
  const install = () => apt(['install', '-y', '--no-install-recommends', ...missing]);
  // A fresh machine may have no package lists yet: fetch them once, then try again.
  await install().catch(async () => {
    await apt(['update']);
    await install();
  });
}

export interface PostgresNode {
  port: number;
  dataDir: string;
  /** postgresql:// URL of `database` on this node. */
  url(database?: string): string;
  stop(): Promise<void>;
  /** Starts it again after stop(), with the same settings and data. */
  start(): Promise<void>;
}

export interface Topology {
  dir: string;
  primary: PostgresNode;
  replica: PostgresNode;
  /**
   * PgBouncer, transaction pooling, in front of the primary's `oms` database; `oneServerUrl` reaches
   * it through a pool of a single server connection, which every client's transactions then share.
   */
  pgbouncer: { port: number; url: string; oneServerUrl: string };
  /** Starts HAProxy in front of `backends` (base URLs), health-checking GET /ready; gives its base URL. */
  startHaproxy(backends: readonly string[]): Promise<string>;
  teardown(): Promise<void>;
}

/** A child that must keep running: fails loudly (with its log) if it exits before teardown. */
interface Daemon {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startDaemon(command: string, args: string[], user?: { uid: number; gid: number }): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until a TCP port accepts connections, or the daemon dies. */
async function waitForPort(port: number, daemon: Daemon, name: string, timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.child.exitCode !== null) throw new Error(`${name} exited with ${daemon.child.exitCode}:\n${daemon.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${daemon.output()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

export async function buildTopology(options: { statementTimeoutMs: number }): Promise<Topology> {
  await ensureTools();
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'oms-scale-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const undo: (() => Promise<void>)[] = [];
  const teardown = async () => {
    // In reverse: HAProxy and PgBouncer before the servers they talk to, the replica before the primary.
    for (const step of undo.reverse()) await step().catch(() => undefined);
    undo.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  const asPostgres = (tool: string, args: string[]) =>
    run(join(PG_BIN, tool), args, { ...user, cwd: dir, env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' } });

  const startNode = async (name: string, port: number): Promise<PostgresNode> => {
    const dataDir = join(dir, name);
    // Throwaway data: durability settings off, the socket in our directory, loopback only.
    const opts = [
      `-p ${port}`, `-k ${dir}`, `-c listen_addresses=127.0.0.1`, '-c fsync=off', '-c synchronous_commit=off',
      '-c full_page_writes=off', '-c shared_buffers=64MB', '-c max_connections=100',
    ].join(' ');
    const start = async () => {
      await asPostgres('pg_ctl', ['-D', dataDir, '-o', opts, '-l', join(dir, `${name}.log`), '-w', '-t', '60', 'start']);
    };
    await start();
    const node: PostgresNode = {
      port,
      dataDir,
      url: (database = DATABASE) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
      stop: async () => {
        await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      },
      start,
    };
    undo.push(node.stop);
    return node;
  };

  try {
    await asPostgres('initdb', ['-D', join(dir, 'primary'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const primary = await startNode('primary', await freePort());
    // The service's statement_timeout, applied by the server itself: PgBouncer drops the startup
    // parameter (ignore_startup_parameters below), so this is what bounds statements through it.
    await asPostgres('psql', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1',
      '-c', `CREATE DATABASE ${DATABASE}`,
      '-c', `ALTER ROLE postgres IN DATABASE ${DATABASE} SET statement_timeout = '${options.statementTimeoutMs}ms'`]);

    // pg_basebackup -R writes primary_conninfo and standby.signal: a streaming hot standby.
    await asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'replica'),
      '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    const replica = await startNode('replica', await freePort());

    const bouncerPort = await freePort();
    const ini = join(dir, 'pgbouncer.ini');
    writeFileSync(ini, pgbouncerIni({ dir, bouncerPort, primaryPort: primary.port }));
    if (user) chownSync(ini, user.uid, user.gid);
    const bouncer = startDaemon('pgbouncer', [ini], user);
    undo.push(bouncer.stop);
    await waitForPort(bouncerPort, bouncer, 'pgbouncer');

    return {
      dir,
      primary,
      replica,
      pgbouncer: {
        port: bouncerPort,
        url: `postgresql://postgres@127.0.0.1:${bouncerPort}/${DATABASE}`,
        oneServerUrl: `postgresql://postgres@127.0.0.1:${bouncerPort}/${DATABASE}_one_server`,
      },
      async startHaproxy(backends) {
        const port = await freePort();
        const cfg = join(dir, 'haproxy.cfg');
        writeFileSync(cfg, haproxyCfg(port, backends));
        // -db: foreground, no daemon; a child of this process like the others.
        const haproxy = startDaemon('haproxy', ['-db', '-f', cfg]);
        undo.push(haproxy.stop);
        await waitForPort(port, haproxy, 'haproxy');
        return `http://127.0.0.1:${port}`;
      },
      teardown,
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** PgBouncer as docs/scaling.md describes it: transaction pooling, statement_timeout left to the server. */
export function pgbouncerIni({ dir, bouncerPort, primaryPort }: { dir: string; bouncerPort: number; primaryPort: number }): string {
  return `[databases]
${DATABASE} = host=127.0.0.1 port=${primaryPort} dbname=${DATABASE} user=postgres
${DATABASE}_one_server = host=127.0.0.1 port=${primaryPort} dbname=${DATABASE} user=postgres pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${bouncerPort}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
ignore_startup_parameters = statement_timeout
pidfile = ${join(dir, 'pgbouncer.pid')}
logfile = ${join(dir, 'pgbouncer.log')}
`;
}

/** The ramp deploy/scale/haproxy.cfg gives a process that comes back up (docs/scaling.md, "A process that comes back"). */
export const HAPROXY_SLOWSTART_S = 10;

/** HAProxy in http mode, round-robin over `backends`, each checked on GET /ready and ramped up by slowstart when it comes back. */
export function haproxyCfg(port: number, backends: readonly string[]): string {
  const servers = backends
    .map((base, i) => `    server api${i + 1} ${new URL(base).host} check inter 1s fall 2 rise 1 slowstart ${HAPROXY_SLOWSTART_S}s`)
    .join('\n');
  return `global
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s

frontend api
    bind 127.0.0.1:${port}
    default_backend services

backend services
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    # Which process answered: for the test, and for whoever reads responses in production.
    http-response set-header X-Served-By %s
${servers}
`;
}
