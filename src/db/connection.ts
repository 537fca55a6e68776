/**
 * Opening the database: target + credentials + dialect -> a verified knex instance.
 * The caller owns the returned connection and must close() it (a CLI with an open pool hangs).
 */
import {existsSync, mkdirSync} from 'node:fs'
import path from 'node:path'

import knexFactory, {type Knex} from 'knex'

import {DatabaseError} from '../errors.js'
import {type Dialect, dialectFor} from './dialect.js'
import {type CredentialSources, type DbTarget, describeTarget, parseDbUrl, resolveCredentials} from './target.js'

export interface Connection {
  readonly knex: Knex
  readonly dialect: Dialect
  readonly target: DbTarget
  /** The database, for messages; never contains a password. */
  readonly description: string
  close(): Promise<void>
}

export interface OpenOptions extends CredentialSources {
  /** May a missing SQLite file be created (schema:init, the embedded default)? */
  createSqliteFile?: boolean
}

export async function openConnection(url: string, options: OpenOptions): Promise<Connection> {
  const target = await resolveCredentials(parseDbUrl(url), options)
  return connect(target, options)
}

export async function connect(target: DbTarget, options: {createSqliteFile?: boolean} = {}): Promise<Connection> {
  const dialect = dialectFor(target.engine)
  const description = describeTarget(target)

  if (target.engine === 'sqlite') {
    const file = target.filename!
    if (!existsSync(file)) {
      if (!options.createSqliteFile) {
        throw new DatabaseError(`No database at ${description}`, ['Create it with: directorctl schema:init --mode direct (or --mode shard)'])
      }

      try {
        mkdirSync(path.dirname(file), {mode: 0o750, recursive: true})
      } catch (error) {
        throw new DatabaseError(`Cannot create the directory for ${description}: ${(error as NodeJS.ErrnoException).code}`)
      }
    }
  }

  const knex = knexFactory(dialect.knexConfig(target))
  try {
    await knex.raw('select 1')
  } catch (error) {
    await knex.destroy().catch(() => {})
    throw dialect.classify(error, description) ?? new DatabaseError(`Cannot use ${description}: ${(error as Error).message}`)
  }

  return {
    close: () => knex.destroy(),
    description,
    dialect,
    knex,
    target,
  }
}
