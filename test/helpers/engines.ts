/**
 * One test suite, every engine: SQLite always, MariaDB and PostgreSQL from real local servers.
 * forEachEngine() declares a describe() per engine; each gets a fresh, empty database.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {type Connection, connect} from '../../src/db/connection.js'
import {parseDbUrl} from '../../src/db/target.js'
import {adminKnex, externalServer, mariadbAvailable, postgresAvailable, type RunningServer, startMariaDb, startPostgres} from './servers.js'

export type EngineName = 'sqlite' | 'mysql' | 'postgres'

const required = process.env.DIRECTORCTL_TEST_REQUIRE_ENGINES === '1'

export function enabledEngines(): EngineName[] {
  const only = process.env.DIRECTORCTL_TEST_ENGINES?.split(',').map((s) => s.trim())
  const engines: EngineName[] = ['sqlite']
  if (mariadbAvailable()) engines.push('mysql')
  else if (required) throw new Error('MariaDB is required (DIRECTORCTL_TEST_REQUIRE_ENGINES=1) but not installed')
  if (postgresAvailable()) engines.push('postgres')
  else if (required) throw new Error('PostgreSQL is required (DIRECTORCTL_TEST_REQUIRE_ENGINES=1) but not installed')
  return only ? engines.filter((e) => only.includes(e)) : engines
}

const servers = new Map<EngineName, Promise<RunningServer>>()

export function serverFor(engine: 'mysql' | 'postgres'): Promise<RunningServer> {
  let server = servers.get(engine)
  if (!server) {
    if (engine === 'mysql') {
      server = process.env.DIRECTORCTL_TEST_MYSQL_URL ? Promise.resolve(externalServer('mysql', process.env.DIRECTORCTL_TEST_MYSQL_URL)) : startMariaDb()
    } else {
      server = process.env.DIRECTORCTL_TEST_PG_URL ? Promise.resolve(externalServer('postgres', process.env.DIRECTORCTL_TEST_PG_URL)) : startPostgres()
    }

    servers.set(engine, server)
  }

  return server
}

export async function startAllServers(): Promise<void> {
  await Promise.all(enabledEngines().filter((e) => e !== 'sqlite').map((e) => serverFor(e as 'mysql' | 'postgres')))
}

export async function stopAllServers(): Promise<void> {
  const running = await Promise.allSettled(servers.values())
  servers.clear()
  await Promise.all(running.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)))
  rmSync(sqliteDir, {force: true, recursive: true})
}

const sqliteDir = mkdtempSync(path.join(tmpdir(), 'directorctl-sqlite-'))
let counter = 0

export interface TestDatabase {
  engine: EngineName
  /** Database name (server engines) or file (SQLite). */
  name: string
  /** URL with the test password in it. */
  url: string
  /** The same database without the password (for tests of other password sources). */
  urlWithoutPassword: string
  server?: RunningServer
  /** A fresh connection through the tool's own connect(). Close it. */
  connect(): Promise<Connection>
  drop(): Promise<void>
}

export async function createTestDatabase(engine: EngineName): Promise<TestDatabase> {
  const name = `dc_${process.pid}_${++counter}`
  if (engine === 'sqlite') {
    const file = path.join(sqliteDir, `${name}.db`)
    const url = `sqlite:${file}`
    return {
      connect: () => connect(parseDbUrl(url), {createSqliteFile: true}),
      drop: async () => rmSync(file, {force: true}),
      engine,
      name: file,
      url,
      urlWithoutPassword: url,
    }
  }

  const server = await serverFor(engine)
  const admin = adminKnex(server)
  try {
    await admin.raw(engine === 'mysql' ? `CREATE DATABASE ${name} CHARACTER SET utf8mb4` : `CREATE DATABASE ${name}`)
  } finally {
    await admin.destroy()
  }

  const scheme = engine === 'mysql' ? 'mysql' : 'postgres'
  const urlWithoutPassword = `${scheme}://${server.user}@${server.host}:${server.port}/${name}`
  const url = `${scheme}://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`
  return {
    connect: () => connect(parseDbUrl(url)),
    async drop() {
      const k = adminKnex(server)
      try {
        await k.raw(engine === 'mysql' ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await k.destroy()
      }
    },
    engine,
    name,
    server,
    url,
    urlWithoutPassword,
  }
}

/**
 * Declare `suite` once per enabled engine. `db()` is the engine's fresh database for this
 * describe block (created in before(), dropped in after()).
 */
export function forEachEngine(title: string, suite: (ctx: {engine: EngineName; db: () => TestDatabase}) => void): void {
  for (const engine of enabledEngines()) {
    describe(`${title} [${engine}]`, function () {
      let database: TestDatabase | undefined
      before(async function () {
        this.timeout(120_000)
        database = await createTestDatabase(engine)
      })
      after(async () => {
        await database?.drop()
      })
      suite({
        db() {
          if (!database) throw new Error('the test database is not ready')
          return database
        },
        engine,
      })
    })
  }
}
