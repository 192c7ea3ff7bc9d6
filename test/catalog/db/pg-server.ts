/**
 * A real PostgreSQL 15 for a test file: initdb into a temp folder and pg_ctl start on 127.0.0.1 (a free port)
 * and a unix socket in that folder, password (scram) auth, stopped and removed on teardown. Run as the
 * `postgres` system user (postgres refuses root). A minimal starter of this folder's own, to be folded into
 * test/helpers/postgres.ts.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PgServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgres://postgres:…@127.0.0.1:port/`database` */
  url(database?: string): string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the postgres user. */
function asPostgres(binary: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts a PostgreSQL server for the test `t`; stopped (immediately: nothing there is kept) on teardown. */
export async function startPostgres(t: Test): Promise<PgServer> {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`PostgreSQL 15 is not installed (${BIN}): apt-get install postgresql-15`);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const password = `pw-${process.pid}-${Date.now()}`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8', '--no-sync']);
  rmSync(pwfile);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
  asPostgres('pg_ctl', ['-D', data, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', options, 'start']);
  t.teardown(() => {
    try {
      asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    url: (database = 'postgres') => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
  };
}
