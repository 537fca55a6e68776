/**
 * Where the database is and how to log in: parsing of --db URLs and the password sources
 * (URL, DIRECTORCTL_DB_PASSWORD, a password file, ~/.my.cnf [client], ~/.pgpass).
 */
import {readFileSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import path from 'node:path'

import ini from 'ini'
import pgpass from 'pgpass'

import {InputError} from '../errors.js'

export type Engine = 'sqlite' | 'mysql' | 'postgres'

export interface DbTarget {
  engine: Engine
  /** SQLite file (absolute). */
  filename?: string
  host?: string
  port?: number
  /** MySQL UNIX socket file, or PostgreSQL socket directory. */
  socket?: string
  user?: string
  password?: string
  database?: string
  ssl?: boolean
  /** Where the password came from, for --verbose (never the password itself). */
  passwordSource?: string
}

const SCHEMES: Record<string, Engine> = {
  mariadb: 'mysql',
  mysql: 'mysql',
  postgres: 'postgres',
  postgresql: 'postgres',
  sqlite: 'sqlite',
  sqlite3: 'sqlite',
}

const EXAMPLES = [
  'sqlite:/var/lib/directorctl/director.db',
  'mysql://director@db1.example.com:3306/director',
  'mysql://director@localhost/director?socket=/run/mysqld/mysqld.sock',
  'postgres://director@db1.example.com:5432/director',
  'postgres://director@/director?host=/var/run/postgresql',
]

function invalid(reason: string): InputError {
  return new InputError(`Invalid --db URL: ${reason}`, [`Examples: ${EXAMPLES.join(', ')}`])
}

/** Parse a --db / DIRECTORCTL_DB URL. Relative SQLite paths are resolved against `cwd`. */
export function parseDbUrl(url: string, cwd = process.cwd()): DbTarget {
  const match = /^([a-z0-9]+):(.*)$/i.exec(url.trim())
  const engine = match ? SCHEMES[match[1].toLowerCase()] : undefined
  if (!match || !engine) throw invalid('it must start with sqlite:, mysql://, mariadb://, postgres:// or postgresql://')
  if (engine === 'sqlite') return parseSqlite(match[2], cwd)

  // user@/db (a socket, no host) is not a WHATWG URL; parse it with a placeholder host.
  const emptyHost = /^[a-z0-9]+:\/\/[^/?#]*@(?=\/)/i.test(url.trim())
  let parsed: URL
  try {
    parsed = new URL(emptyHost ? url.trim().replace('@/', '@placeholder.invalid/') : url.trim())
  } catch {
    throw invalid('it is not a well-formed URL')
  }

  if (!url.includes('//')) throw invalid(`a ${match[1]} URL looks like ${match[1]}://user@host:port/database`)
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  if (!database || database.includes('/')) throw invalid('name exactly one database after the host, e.g. .../director')

  const target: DbTarget = {
    database,
    engine,
    host: parsed.hostname && !emptyHost ? decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1') : undefined,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
  }
  if (parsed.port) target.port = Number(parsed.port)
  if (parsed.password) {
    target.password = decodeURIComponent(parsed.password)
    target.passwordSource = 'the --db URL'
  }

  for (const [key, value] of parsed.searchParams) {
    if ((key === 'socket' && engine === 'mysql') || (key === 'host' && engine === 'postgres')) {
      if (!value.startsWith('/')) throw invalid(`${key}= must be an absolute path`)
      target.socket = value
    } else if (key === 'port') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65_535) throw invalid('port= must be a port number')
      target.port = Number(value)
    } else if (key === 'ssl' || key === 'sslmode') {
      target.ssl = !['0', 'false', 'disable', 'no'].includes(value.toLowerCase())
    } else {
      const known = engine === 'mysql' ? 'socket, port, ssl' : 'host, port, ssl, sslmode'
      throw invalid(`unknown parameter "${key}" (known: ${known})`)
    }
  }

  if (!target.host && !target.socket) throw invalid('give a host, or a socket (?socket=/path for MySQL, ?host=/dir for PostgreSQL)')
  return target
}

function parseSqlite(rest: string, cwd: string): DbTarget {
  // sqlite:relative.db, sqlite:/abs.db and sqlite:///abs.db are all accepted.
  const file = rest.startsWith('//') ? rest.slice(2) : rest
  if (!file) throw invalid('name a file, e.g. sqlite:/var/lib/directorctl/director.db')
  if (file.includes('?')) throw invalid('SQLite URLs take no parameters')
  return {engine: 'sqlite', filename: path.resolve(cwd, file)}
}

/** A URL for messages: never contains a password. */
export function describeTarget(target: DbTarget): string {
  if (target.engine === 'sqlite') return `sqlite:${target.filename}`
  const scheme = target.engine === 'mysql' ? 'mysql' : 'postgres'
  const user = target.user ? `${encodeURIComponent(target.user)}@` : ''
  const host = target.host?.includes(':') ? `[${target.host}]` : (target.host ?? '')
  const port = target.port ? `:${target.port}` : ''
  const socket = target.socket ? `?${target.engine === 'mysql' ? 'socket' : 'host'}=${target.socket}` : ''
  return `${scheme}://${user}${host}${port}/${target.database}${socket}`
}

export interface CredentialSources {
  env: NodeJS.ProcessEnv
  /** A file whose first line is the password (flag, env or config). */
  passwordFile?: string
  home?: string
}

/**
 * Fill in user and password from the documented sources, in order:
 * URL > DIRECTORCTL_DB_PASSWORD > password file > ~/.my.cnf [client] / ~/.pgpass.
 */
export async function resolveCredentials(target: DbTarget, sources: CredentialSources): Promise<DbTarget> {
  if (target.engine === 'sqlite') return target
  const resolved = {...target}
  const home = sources.home ?? homedir()

  if (resolved.engine === 'mysql') applyMyCnf(resolved, path.join(home, '.my.cnf'))
  resolved.user ??= defaultUser(sources.env)

  if (resolved.password === undefined && sources.env.DIRECTORCTL_DB_PASSWORD !== undefined) {
    resolved.password = sources.env.DIRECTORCTL_DB_PASSWORD
    resolved.passwordSource = 'DIRECTORCTL_DB_PASSWORD'
  }

  if (resolved.password === undefined && sources.passwordFile) {
    resolved.password = readPasswordFile(sources.passwordFile)
    resolved.passwordSource = `password file ${sources.passwordFile}`
  }

  if (resolved.password === undefined && resolved.engine === 'mysql') {
    const fromCnf = readMyCnf(path.join(home, '.my.cnf')).password
    if (fromCnf !== undefined) {
      resolved.password = fromCnf
      resolved.passwordSource = '~/.my.cnf [client]'
    }
  }

  if (resolved.password === undefined && resolved.engine === 'postgres') {
    const fromPgpass = await lookupPgpass(resolved)
    if (fromPgpass !== undefined) {
      resolved.password = fromPgpass
      resolved.passwordSource = sources.env.PGPASSFILE ? `PGPASSFILE ${sources.env.PGPASSFILE}` : '~/.pgpass'
    }
  }

  return resolved
}

function defaultUser(env: NodeJS.ProcessEnv): string {
  return env.USER || env.LOGNAME || userInfo().username
}

function readPasswordFile(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new InputError(`Cannot read the password file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }

  return text.split(/\r?\n/, 1)[0]
}

interface MyCnfClient {
  host?: string
  password?: string
  port?: string
  socket?: string
  user?: string
}

function readMyCnf(file: string): MyCnfClient {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return {}
  }

  const groups = ini.parse(text)
  const client = {...groups['client-mariadb'], ...groups.client} as Record<string, unknown>
  const pick = (key: string) => (typeof client[key] === 'string' ? (client[key] as string) : undefined)
  return {host: pick('host'), password: pick('password'), port: pick('port'), socket: pick('socket'), user: pick('user')}
}

function applyMyCnf(target: DbTarget, file: string): void {
  const cnf = readMyCnf(file)
  target.user ??= cnf.user
  // The socket in ~/.my.cnf only applies when the URL names localhost, as with the mysql client.
  if (!target.socket && cnf.socket && (target.host === 'localhost' || !target.host)) target.socket = cnf.socket
}

/** ~/.pgpass (or PGPASSFILE) as libpq reads it, through the pgpass module that node-postgres uses. */
function lookupPgpass(target: DbTarget): Promise<string | undefined> {
  const connInfo = {
    database: target.database,
    host: target.socket ? 'localhost' : (target.host ?? 'localhost'),
    port: target.port ?? 5432,
    user: target.user,
  }
  return new Promise((resolve) => {
    pgpass(connInfo, (password?: string) => resolve(password))
  })
}
