/**
 * Every difference between MySQL/MariaDB, PostgreSQL and SQLite lives here: the knex client
 * configuration, statement limits and how each engine reports errors. Commands never branch
 * on the engine.
 */
import type {Knex} from 'knex'

import {DatabaseError, DirectorError, RefusedError} from '../errors.js'
import {ImmediateSqliteClient} from './sqlite-client.js'
import type {DbTarget, Engine} from './target.js'

interface DbErrorLike {
  code?: string
  errno?: number
  message?: string
  name?: string
}

export interface Dialect {
  readonly engine: Engine
  /** The knex client configuration for this target. */
  knexConfig(target: DbTarget): Knex.Config
  /** Most bind parameters one statement may carry (kept well under the engine's hard limit). */
  readonly maxBindings: number
  /** A duplicate primary key or unique index value. */
  isUniqueViolation(error: unknown): boolean
  /** A table or column the statement named does not exist. */
  isMissingSchema(error: unknown): boolean
  /** The expected failure an engine error stands for (connection, credentials), if any. */
  classify(error: unknown, where: string): DirectorError | undefined
  /** Columns of `table` that carry a UNIQUE index (or key) of their own. */
  uniqueColumns(knex: Knex, table: string): Promise<string[]>
  /**
   * Statements that add a UNIQUE index without a long table lock: MariaDB online DDL,
   * PostgreSQL CREATE INDEX CONCURRENTLY (outside any transaction), plain SQLite.
   */
  createUniqueIndexSql(table: string, column: string, name: string): string[]
  /** Statements that add backends.state as the scripts need it. */
  addStateColumnSql(): string[]
  /** Lock the rows a transaction reads (SQLite's write transactions lock the whole file already). */
  lockRows<Q extends Knex.QueryBuilder>(query: Q): Q
  /** SQL for "this column, compared byte for byte" (MySQL's default collations ignore case). */
  exactColumn(column: string): string
}

/**
 * Multi-row INSERT ... VALUES (...), (...) in chunks under the bind limit; with `ignore`, rows
 * that hit a unique key are skipped (INSERT IGNORE / ON CONFLICT DO NOTHING / INSERT OR IGNORE).
 * knex's own multi-row insert on SQLite uses UNION ALL, which SQLite caps at 500 rows.
 */
export async function insertRows(db: Knex | Knex.Transaction, dialect: Dialect, table: string, columns: string[], rows: unknown[][], options: {ignore?: boolean} = {}): Promise<void> {
  const perStatement = Math.max(1, Math.floor(dialect.maxBindings / columns.length))
  const head = dialect.engine === 'mysql' && options.ignore ? 'INSERT IGNORE INTO' : dialect.engine === 'sqlite' && options.ignore ? 'INSERT OR IGNORE INTO' : 'INSERT INTO'
  const tail = dialect.engine === 'postgres' && options.ignore ? ' ON CONFLICT DO NOTHING' : ''
  const tuple = `(${columns.map(() => '?').join(', ')})`
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement)
    await db.raw(`${head} ?? (${columns.map(() => '??').join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}${tail}`, [table, ...columns, ...chunk.flat()] as Knex.RawBinding[])
  }
}

const CONNECT_TIMEOUT_MS = 10_000

/** knex prints pool errors itself; ours are classified and reported once, on stderr. */
const SILENT_LOG = {debug() {}, deprecate() {}, error() {}, warn() {}}

function errorOf(error: unknown): DbErrorLike {
  return (typeof error === 'object' && error !== null ? error : {}) as DbErrorLike
}

/** Network failures common to the two server engines. */
function classifyNetwork(error: DbErrorLike, where: string): DirectorError | undefined {
  switch (error.code) {
    case 'ECONNREFUSED': {
      return new DatabaseError(`Cannot connect to ${where}: connection refused`, ['Is the server running, and is the host and port right?'])
    }

    case 'ENOTFOUND':
    case 'EAI_AGAIN': {
      return new DatabaseError(`Cannot connect to ${where}: host name not found`)
    }

    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': {
      return new DatabaseError(`Cannot connect to ${where}: ${error.code}`)
    }

    case 'ENOENT': {
      return new DatabaseError(`Cannot connect to ${where}: the socket does not exist`)
    }

    case 'EACCES': {
      return new DatabaseError(`Cannot connect to ${where}: permission denied on the socket`)
    }

    case 'ECONNRESET':
    case 'PROTOCOL_CONNECTION_LOST': {
      return new DatabaseError(`Lost the connection to ${where}`)
    }
  }

  if (error.name === 'KnexTimeoutError') return new DatabaseError(`Cannot connect to ${where}: timed out`)
  return undefined
}

function rowsOf(result: unknown, engine: Engine): Record<string, unknown>[] {
  if (engine === 'postgres') return (result as {rows: Record<string, unknown>[]}).rows
  if (engine === 'mysql') return (result as [Record<string, unknown>[]])[0]
  return result as Record<string, unknown>[]
}

const mysql: Dialect = {
  exactColumn: (column) => `BINARY \`${column}\``,
  lockRows: (query) => query.forUpdate() as typeof query,
  addStateColumnSql: () => ['ALTER TABLE backends ADD COLUMN state SMALLINT NOT NULL DEFAULT 0'],
  classify(error, where) {
    const e = errorOf(error)
    switch (e.code) {
      case 'ER_ACCESS_DENIED_ERROR':
      case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR': {
        return new DatabaseError(`Cannot log in to ${where}: access denied (wrong user or password)`)
      }

      case 'ER_DBACCESS_DENIED_ERROR':
      case 'ER_TABLEACCESS_DENIED_ERROR': {
        return new DatabaseError(`Access denied on ${where}: the user lacks privileges`)
      }

      case 'ER_BAD_DB_ERROR': {
        return new DatabaseError(`The database named in ${where} does not exist`)
      }

      case 'ER_LOCK_WAIT_TIMEOUT':
      case 'ER_LOCK_DEADLOCK': {
        return new RefusedError(`The database was busy (${e.code}); nothing from the failed transaction was kept`, ['Run the command again'])
      }
    }

    return classifyNetwork(e, where)
  },
  createUniqueIndexSql: (table, column, name) => [`ALTER TABLE \`${table}\` ADD UNIQUE INDEX \`${name}\` (\`${column}\`), ALGORITHM=INPLACE, LOCK=NONE`],
  engine: 'mysql',
  isMissingSchema: (error) => ['ER_NO_SUCH_TABLE', 'ER_BAD_FIELD_ERROR'].includes(errorOf(error).code ?? ''),
  isUniqueViolation: (error) => errorOf(error).code === 'ER_DUP_ENTRY',
  knexConfig: (target) => ({
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS + 5000,
    client: 'mysql2',
    connection: {
      charset: 'utf8mb4',
      connectTimeout: CONNECT_TIMEOUT_MS,
      database: target.database,
      host: target.socket ? undefined : target.host,
      password: target.password,
      port: target.socket ? undefined : target.port,
      socketPath: target.socket,
      ssl: target.ssl ? {} : undefined,
      supportBigNumbers: true,
      user: target.user,
    },
    log: SILENT_LOG,
    pool: {max: 4, min: 0},
  }),
  maxBindings: 30_000,
  async uniqueColumns(knex, table) {
    const rows = rowsOf(await knex.raw('SHOW INDEX FROM ?? WHERE Non_unique = 0', [table]), 'mysql')
    return singleColumn(rows.map((r) => ({column: String(r.Column_name), index: String(r.Key_name)})))
  },
}

/** Columns that are the only column of some unique index. */
function singleColumn(entries: {index: string; column: string}[]): string[] {
  const byIndex = new Map<string, string[]>()
  for (const e of entries) byIndex.set(e.index, [...(byIndex.get(e.index) ?? []), e.column])
  return [...byIndex.values()].filter((cols) => cols.length === 1).map((cols) => cols[0])
}

const postgres: Dialect = {
  exactColumn: (column) => `"${column}"`,
  lockRows: (query) => query.forUpdate() as typeof query,
  addStateColumnSql: () => ['ALTER TABLE backends ADD COLUMN state SMALLINT NOT NULL DEFAULT 0'],
  classify(error, where) {
    const e = errorOf(error)
    switch (e.code) {
      case '28P01':
      case '28000': {
        return new DatabaseError(`Cannot log in to ${where}: authentication failed (wrong user or password)`)
      }

      case '3D000': {
        return new DatabaseError(`The database named in ${where} does not exist`)
      }

      case '42501': {
        return new DatabaseError(`Access denied on ${where}: the user lacks privileges`)
      }

      case '40001':
      case '40P01':
      case '55P03': {
        return new RefusedError(`The database was busy (${e.code}); nothing from the failed transaction was kept`, ['Run the command again'])
      }
    }

    if (/password authentication failed|no password was provided|client password must be a string/i.test(e.message ?? '')) {
      return new DatabaseError(`Cannot log in to ${where}: authentication failed (wrong user or password)`)
    }

    return classifyNetwork(e, where)
  },
  // CONCURRENTLY: no lock against the proxies' writes. A failed attempt leaves an invalid index, dropped first.
  createUniqueIndexSql: (table, column, name) => [`DROP INDEX CONCURRENTLY IF EXISTS "${name}"`, `CREATE UNIQUE INDEX CONCURRENTLY "${name}" ON "${table}" ("${column}")`],
  engine: 'postgres',
  isMissingSchema: (error) => ['42P01', '42703'].includes(errorOf(error).code ?? ''),
  isUniqueViolation: (error) => errorOf(error).code === '23505',
  knexConfig: (target) => ({
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS + 5000,
    client: 'pg',
    connection: {
      application_name: 'directorctl',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      database: target.database,
      host: target.socket ?? target.host,
      password: target.password,
      port: target.port,
      ssl: target.ssl ? {rejectUnauthorized: false} : undefined,
      user: target.user,
    },
    log: SILENT_LOG,
    pool: {max: 4, min: 0},
  }),
  maxBindings: 30_000,
  async uniqueColumns(knex, table) {
    const rows = rowsOf(await knex.raw(`
      SELECT i.relname AS index, a.attname AS column
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
       WHERE t.relname = ? AND t.relnamespace = to_regnamespace(current_schema())::oid AND x.indisunique AND x.indisvalid`, [table]), 'postgres')
    return singleColumn(rows.map((r) => ({column: String(r.column), index: String(r.index)})))
  },
}

const sqlite: Dialect = {
  exactColumn: (column) => `"${column}"`,
  lockRows: (query) => query,
  addStateColumnSql: () => ['ALTER TABLE backends ADD COLUMN state SMALLINT NOT NULL DEFAULT 0'],
  classify(error, where) {
    const e = errorOf(error)
    if (e.code === 'SQLITE_CANTOPEN') return new DatabaseError(`Cannot open ${where}`)
    if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT') return new DatabaseError(`${where} is not a usable SQLite database`)
    if (e.code === 'SQLITE_READONLY') return new DatabaseError(`${where} is read-only for this user`)
    if (e.code === 'SQLITE_BUSY') return new RefusedError(`${where} stayed locked by another writer; nothing from the failed transaction was kept`, ['Run the command again'])
    return undefined
  },
  createUniqueIndexSql: (table, column, name) => [`CREATE UNIQUE INDEX IF NOT EXISTS "${name}" ON "${table}" ("${column}")`],
  engine: 'sqlite',
  isMissingSchema: (error) => /no such (table|column)/i.test(errorOf(error).message ?? ''),
  isUniqueViolation: (error) => /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(errorOf(error).code ?? ''),
  knexConfig: (target) => ({
    client: ImmediateSqliteClient as unknown as typeof Knex.Client,
    connection: {filename: target.filename!},
    pool: {
      // Proxies read the same file; wait for their short locks instead of failing at once.
      afterCreate(conn: {pragma(sql: string): unknown}, done: (err: Error | null, conn: unknown) => void) {
        conn.pragma('busy_timeout = 10000')
        done(null, conn)
      },
      max: 1,
      min: 1,
    },
    log: SILENT_LOG,
    useNullAsDefault: true,
  }),
  // SQLITE_MAX_VARIABLE_NUMBER is 32766 since SQLite 3.32.
  maxBindings: 30_000,
  async uniqueColumns(knex, table) {
    const entries: {index: string; column: string}[] = []
    for (const idx of rowsOf(await knex.raw(`PRAGMA index_list("${table}")`), 'sqlite')) {
      if (Number(idx.unique) !== 1) continue
      for (const col of rowsOf(await knex.raw(`PRAGMA index_info("${String(idx.name)}")`), 'sqlite')) entries.push({column: String(col.name), index: String(idx.name)})
    }

    return singleColumn(entries)
  },
}

const DIALECTS: Record<Engine, Dialect> = {mysql, postgres, sqlite}

export function dialectFor(engine: Engine): Dialect {
  return DIALECTS[engine]
}
