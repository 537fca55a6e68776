/**
 * An open database with everything a command needs: mode, backends, mappings. Knows nothing
 * about oclif, so tests use it directly.
 */
import {existsSync} from 'node:fs'

import {type Connection, openConnection} from './db/connection.js'
import {detectMode, ensureToolTables, initSchema, TABLES} from './db/schema.js'
import {Backends} from './director/backends.js'
import {type Mapping, mappingFor} from './director/mapping.js'
import {DatabaseError} from './errors.js'
import type {Mode, Settings} from './settings.js'

export interface Session {
  readonly conn: Connection
  readonly mode: Mode
  readonly backends: Backends
  readonly mapping: Mapping
  /** Does backends have the state column (shard schemas from the documentation do not)? */
  readonly hasState: boolean
  /** What was done to open it, for --verbose. */
  readonly notes: string[]
}

export interface SessionOptions {
  /** schema:init opens without a schema. */
  requireSchema?: boolean
}

function defaultDbFile(settings: Settings): string | undefined {
  return settings.dbSource === 'default' ? settings.db.replace(/^sqlite:/, '') : undefined
}

/** Open the configured database without looking at its schema (schema:init, doctor). */
export async function openDatabase(settings: Settings, options: {create?: boolean} = {}): Promise<Connection> {
  const defaultFile = defaultDbFile(settings)
  return openConnection(settings.db, {
    createSqliteFile: options.create || defaultFile !== undefined,
    env: process.env,
    passwordFile: settings.passwordFile,
  })
}

export async function openSession(settings: Settings): Promise<Session> {
  const notes: string[] = []
  const defaultFile = defaultDbFile(settings)
  const firstUse = defaultFile !== undefined && !existsSync(defaultFile)
  const conn = await openDatabase(settings)
  try {
    notes.push(`database: ${conn.description} (from ${settings.dbSource === 'default' ? 'the built-in default' : settings.dbSource})`)
    if (firstUse) {
      // The embedded default is created, in direct mode, the first time it is used.
      await initSchema(conn.knex, settings.mode ?? 'direct')
      notes.push(`created the embedded database in ${settings.mode ?? 'direct'} mode`)
    }

    return await sessionOn(conn, settings.mode, notes)
  } catch (error) {
    await conn.close()
    throw error
  }
}

export async function sessionOn(conn: Connection, wantedMode: Mode | undefined, notes: string[] = []): Promise<Session> {
  const mode = await detectMode(conn.knex)
  if (wantedMode && wantedMode !== mode) {
    throw new DatabaseError(`--mode ${wantedMode} was given, but the database is in ${mode} mode (user_backend.${mode === 'direct' ? 'user' : 'user_hash'})`)
  }

  notes.push(`mode: ${mode}${wantedMode ? '' : ' (detected)'}`)
  const hasState = 'state' in (await conn.knex(TABLES.backends).columnInfo())
  const hasMeta = await conn.knex.schema.hasTable(TABLES.backendMeta)
  return {
    backends: new Backends(conn.knex, conn.dialect, {hasMeta, hasState}),
    conn,
    hasState,
    mapping: mappingFor(mode, conn.knex, conn.dialect),
    mode,
    notes,
  }
}

/** Before the first write: the tool's own tables must exist (weights, tags, lock, history). */
export async function prepareForWrites(session: Session): Promise<void> {
  const created = await ensureToolTables(session.conn.knex)
  for (const change of created) session.notes.push(`${change.what} (the tool's own table)`)
  if (created.length > 0) Object.assign(session, {backends: new Backends(session.conn.knex, session.conn.dialect, {hasMeta: true, hasState: session.hasState})})
}
