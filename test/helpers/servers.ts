/**
 * Throwaway MariaDB and PostgreSQL servers for the test suite: temporary data directories,
 * loopback ports, started once per test run and stopped at its end. An engine can instead be
 * pointed at an existing server with DIRECTORCTL_TEST_MYSQL_URL / DIRECTORCTL_TEST_PG_URL
 * (an account allowed to create databases).
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import knexFactory, {type Knex} from 'knex'

const quiet = {debug() {}, deprecate() {}, error() {}, warn() {}}

export type ServerEngine = 'mysql' | 'postgres'

export interface RunningServer {
  engine: ServerEngine
  host: string
  port: number
  /** MySQL socket file or PostgreSQL socket directory. */
  socket?: string
  /** An account that may create databases (for the throwaway servers, the same as user). */
  adminUser: string
  adminPassword: string
  /** An ordinary account with a password, owner of the test databases. */
  user: string
  password: string
  stop(): Promise<void>
}

export const TEST_PASSWORD = 'Sw0rdf1sh-test-only'

const MARIADB_BINARIES = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld']
const PG_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin']

function findFirst(candidates: string[]): string | undefined {
  return candidates.find((c) => existsSync(c))
}

export function mariadbAvailable(): boolean {
  return Boolean(process.env.DIRECTORCTL_TEST_MYSQL_URL || findFirst(MARIADB_BINARIES))
}

export function postgresAvailable(): boolean {
  return Boolean(process.env.DIRECTORCTL_TEST_PG_URL || findFirst(PG_BIN_DIRS.map((d) => `${d}/postgres`)))
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

const children = new Map<ChildProcess, string>()
// Servers never keep the test process alive (unref below); whatever is still running when it
// exits is killed and its data directory removed.
process.on('exit', () => {
  for (const [child, dir] of children) {
    child.kill('SIGKILL')
    rmSync(dir, {force: true, recursive: true})
  }
})

function startProcess(command: string, args: string[], options: {uid?: number; gid?: number; dir: string}): ChildProcess {
  const child = spawn(command, args, {gid: options.gid, stdio: 'ignore', uid: options.uid})
  child.unref()
  children.set(child, options.dir)
  child.on('exit', () => children.delete(child))
  return child
}

async function waitFor(what: string, child: ChildProcess, probe: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now()
  let lastError: unknown
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} while starting`)
    try {
      await probe()
      return
    } catch (error) {
      lastError = error
      await sleep(200)
    }
  }

  throw new Error(`${what} did not start within ${timeoutMs} ms: ${(lastError as Error)?.message}`)
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await Promise.race([exited, sleep(15_000)])
    if (child.exitCode === null) child.kill('SIGKILL')
  }

  rmSync(dir, {force: true, recursive: true})
}

export async function startMariaDb(): Promise<RunningServer> {
  const binary = findFirst(MARIADB_BINARIES)
  if (!binary) throw new Error('MariaDB is not installed (apt-get install mariadb-server)')
  process.stderr.write('[test servers] starting MariaDB\n')
  const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-mariadb-'))
  const asRoot = process.getuid?.() === 0
  const userArgs = asRoot ? ['--user=root'] : []
  execFileSync('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${dir}/data`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...userArgs,
  ], {stdio: 'ignore'})
  const port = await freePort()
  const socket = `${dir}/mysqld.sock`
  const child = startProcess(binary, [
    '--no-defaults',
    `--datadir=${dir}/data`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=128M',
    '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=300',
    '--local-infile=1',
    `--pid-file=${dir}/mysqld.pid`,
    `--log-error=${dir}/error.log`,
    ...userArgs,
  ], {dir})

  const admin = () => knexFactory({client: 'mysql2', connection: {socketPath: socket, user: 'root'}, pool: {max: 1, min: 0}, log: quiet})
  await waitFor('MariaDB', child, async () => {
    const k = admin()
    try {
      await k.raw('select 1')
    } finally {
      await k.destroy()
    }
  })
  const k = admin()
  try {
    await k.raw(`CREATE USER 'directorctl'@'127.0.0.1' IDENTIFIED BY '${TEST_PASSWORD}'`)
    await k.raw(`CREATE USER 'directorctl'@'localhost' IDENTIFIED BY '${TEST_PASSWORD}'`)
    await k.raw(`GRANT ALL ON *.* TO 'directorctl'@'127.0.0.1'`)
    await k.raw(`GRANT ALL ON *.* TO 'directorctl'@'localhost'`)
    await k.raw(`ALTER USER 'root'@'localhost' IDENTIFIED BY '${TEST_PASSWORD}'`)
  } finally {
    await k.destroy()
  }

  return {
    adminPassword: TEST_PASSWORD,
    adminUser: 'directorctl',
    engine: 'mysql',
    host: '127.0.0.1',
    password: TEST_PASSWORD,
    port,
    socket,
    stop: () => stopChild(child, dir),
    user: 'directorctl',
  }
}

export async function startPostgres(): Promise<RunningServer> {
  const binDir = findFirst(PG_BIN_DIRS)
  if (!binDir) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  process.stderr.write('[test servers] starting PostgreSQL\n')
  const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-pg-'))
  // initdb refuses to run as root: run the server as the postgres system user then.
  const asRoot = process.getuid?.() === 0
  let ids: {uid?: number; gid?: number} = {}
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    ids = {gid, uid}
    chownSync(dir, uid, gid)
  }

  const pwfile = `${dir}/pw`
  writeFileSync(pwfile, `${TEST_PASSWORD}\n`, {mode: 0o600})
  if (asRoot) chownSync(pwfile, ids.uid!, ids.gid!)
  execFileSync(`${binDir}/initdb`, [
    '-D', `${dir}/data`, '-U', 'postgres', `--pwfile=${pwfile}`,
    '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8',
  ], {...ids, stdio: 'ignore'})
  const port = await freePort()
  const child = startProcess(`${binDir}/postgres`, [
    '-D', `${dir}/data`,
    '-p', String(port),
    '-k', dir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=128MB',
  ], {...ids, dir})

  const admin = () => knexFactory({client: 'pg', connection: {database: 'postgres', host: '127.0.0.1', password: TEST_PASSWORD, port, user: 'postgres'}, pool: {max: 1, min: 0}, log: quiet})
  await waitFor('PostgreSQL', child, async () => {
    const k = admin()
    try {
      await k.raw('select 1')
    } finally {
      await k.destroy()
    }
  })
  const k = admin()
  try {
    await k.raw(`CREATE ROLE directorctl LOGIN CREATEDB PASSWORD '${TEST_PASSWORD}'`)
  } finally {
    await k.destroy()
  }

  return {
    adminPassword: TEST_PASSWORD,
    adminUser: 'directorctl',
    engine: 'postgres',
    host: '127.0.0.1',
    password: TEST_PASSWORD,
    port,
    socket: dir,
    stop: () => stopChild(child, dir),
    user: 'directorctl',
  }
}

/** A server given by URL: the tests create and drop databases on it but never stop it. */
export function externalServer(engine: ServerEngine, url: string): RunningServer {
  const u = new URL(url)
  const password = decodeURIComponent(u.password)
  const user = decodeURIComponent(u.username)
  return {
    adminPassword: password,
    adminUser: user,
    engine,
    host: u.hostname,
    password,
    port: Number(u.port || (engine === 'mysql' ? 3306 : 5432)),
    stop: async () => {},
    user,
  }
}

export function adminKnex(server: RunningServer, database?: string): Knex {
  return server.engine === 'mysql'
    ? knexFactory({client: 'mysql2', connection: {database, host: server.host, password: server.adminPassword, port: server.port, user: server.adminUser}, pool: {max: 2, min: 0}})
    : knexFactory({client: 'pg', connection: {database: database ?? 'postgres', host: server.host, password: server.adminPassword, port: server.port, user: server.adminUser}, pool: {max: 2, min: 0}})
}
