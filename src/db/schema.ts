/**
 * The two tables the published Lua scripts read (backends, user_backend) and the tool's own
 * tables beside them. The scripts' tables are created exactly as documented (plus `state` in
 * shard mode, which director-shard.lua needs, and the UNIQUE index that makes the scripts'
 * insert-race retry work); weights, tags, locks and history live in directorctl_* tables so
 * that the scripts' tables stay as the scripts expect.
 */
import type {Knex} from 'knex'

import {DatabaseError, RefusedError} from '../errors.js'
import type {Mode} from '../settings.js'

export const TABLES = {
  backends: 'backends',
  backendMeta: 'directorctl_backends',
  history: 'directorctl_history',
  lock: 'directorctl_lock',
  mapping: 'user_backend',
} as const

/** The column of user_backend that holds the key: a user name, or a 16-bit shard. */
export const KEY_COLUMN: Record<Mode, 'user' | 'user_hash'> = {direct: 'user', shard: 'user_hash'}

export const UNIQUE_KEY_INDEX: Record<Mode, string> = {
  direct: 'user_backend_user_unique',
  shard: 'user_backend_user_hash_unique',
}

const INIT_HINT = 'Create the tables with: directorctl schema:init --mode direct (or --mode shard)'

/** Which mode an existing schema is in; exit 6 when the tables are missing or foreign. */
export async function detectMode(knex: Knex): Promise<Mode> {
  const [hasBackends, hasMapping] = await Promise.all([
    knex.schema.hasTable(TABLES.backends),
    knex.schema.hasTable(TABLES.mapping),
  ])
  if (!hasBackends && !hasMapping) throw new DatabaseError('The database has no backends / user_backend tables', [INIT_HINT])
  if (!hasBackends || !hasMapping) {
    throw new DatabaseError(`The database has ${hasBackends ? 'backends but no user_backend' : 'user_backend but no backends'} table`, [INIT_HINT])
  }

  const columns = Object.keys(await knex(TABLES.mapping).columnInfo())
  const backendColumns = Object.keys(await knex(TABLES.backends).columnInfo())
  const missing = ['id', 'hostname', 'hostip'].filter((c) => !backendColumns.includes(c))
  if (missing.length > 0 || !columns.includes('backend_id')) {
    throw new DatabaseError('The backends / user_backend tables do not have the Lua director columns', [
      'Expected backends(id, hostname, hostip, state) and user_backend(backend_id, user | user_hash)',
    ])
  }

  const hasUser = columns.includes('user')
  const hasHash = columns.includes('user_hash')
  if (hasUser === hasHash) {
    throw new DatabaseError('user_backend has neither or both of the user and user_hash columns, so the mode is unclear', [
      'Direct mode has user_backend.user, shard mode has user_backend.user_hash',
    ])
  }

  return hasUser ? 'direct' : 'shard'
}

export interface SchemaChange {
  what: string
  sql: string[]
}

/**
 * Create what is missing for `mode`: never drops or alters anything that exists.
 * Returns the changes made (or, with dryRun, the changes it would make).
 */
export async function initSchema(knex: Knex, mode: Mode, options: {dryRun?: boolean} = {}): Promise<SchemaChange[]> {
  const hasBackends = await knex.schema.hasTable(TABLES.backends)
  const hasMapping = await knex.schema.hasTable(TABLES.mapping)
  if (hasBackends && hasMapping) {
    const existing = await detectMode(knex)
    if (existing !== mode) {
      throw new RefusedError(`The database is already in ${existing} mode; schema:init --mode ${mode} would need a different user_backend table`, [
        'Nothing was changed. Converting between modes is a migration: export, re-create, import.',
      ])
    }
  }

  const changes: SchemaChange[] = []
  const run = async (what: string, builder: Knex.SchemaBuilder) => {
    changes.push({sql: builder.toSQL().map((s: {sql: string}) => s.sql), what})
    if (!options.dryRun) await builder
  }

  if (!hasBackends) await run(`create table ${TABLES.backends}`, backendsTable(knex, mode))
  if (!hasMapping) await run(`create table ${TABLES.mapping}`, mappingTable(knex, mode))
  changes.push(...(await ensureToolTables(knex, options)))
  return changes
}

function backendsTable(knex: Knex, mode: Mode): Knex.SchemaBuilder {
  return knex.schema.createTable(TABLES.backends, (t) => {
    t.integer('id').notNullable().primary()
    // Direct mode documents hostname UNIQUE; shard mode does not. The tool keeps them unique itself.
    if (mode === 'direct') t.string('hostname', 255).notNullable().unique()
    else t.string('hostname', 255).notNullable()
    t.string('hostip', 255)
    t.smallint('state').notNullable().defaultTo(0)
  })
}

function mappingTable(knex: Knex, mode: Mode): Knex.SchemaBuilder {
  const column = KEY_COLUMN[mode]
  return knex.schema.createTable(TABLES.mapping, (t) => {
    t.integer('backend_id').notNullable()
    if (mode === 'direct') t.string(column, 255).notNullable()
    else t.integer(column).notNullable()
    t.primary(['backend_id', column])
    // One row per user / shard: the published scripts' "retry on INSERT failure" relies on it.
    t.unique([column], {indexName: UNIQUE_KEY_INDEX[mode]})
  })
}

/** The tool's own tables; created when missing, by schema:init, schema:upgrade or the first write. */
export async function ensureToolTables(knex: Knex, options: {dryRun?: boolean} = {}): Promise<SchemaChange[]> {
  const wanted: [string, (t: Knex.CreateTableBuilder) => void][] = [
    [
      TABLES.backendMeta,
      (t) => {
        t.integer('backend_id').notNullable().primary()
        t.integer('weight').notNullable().defaultTo(100)
        t.string('tags', 1024).notNullable().defaultTo('')
        // Who set the backend down: "operator" or "check" (backend:check only brings back its own).
        t.string('down_by', 32)
        t.bigInteger('state_changed_at')
        // backend:check's consecutive results, so that a state change needs several in a row.
        t.integer('check_failures').notNullable().defaultTo(0)
        t.integer('check_successes').notNullable().defaultTo(0)
        t.string('check_error', 255)
      },
    ],
    [
      TABLES.lock,
      (t) => {
        t.string('name', 64).notNullable().primary()
        t.string('holder', 512).notNullable()
        t.string('host', 255).notNullable()
        t.integer('pid').notNullable()
        t.string('token', 64).notNullable()
        t.bigInteger('acquired_at').notNullable()
        t.bigInteger('heartbeat_at').notNullable()
      },
    ],
    [
      TABLES.history,
      (t) => {
        t.increments('id').primary()
        t.bigInteger('at').notNullable()
        t.string('os_user', 255).notNullable()
        t.string('host', 255).notNullable()
        t.string('command', 255).notNullable()
        t.text('detail').notNullable()
        t.index(['at'], 'directorctl_history_at')
      },
    ],
  ]

  const changes: SchemaChange[] = []
  for (const [name, build] of wanted) {
    if (await knex.schema.hasTable(name)) continue
    const builder = knex.schema.createTable(name, build)
    changes.push({sql: builder.toSQL().map((s: {sql: string}) => s.sql), what: `create table ${name}`})
    if (options.dryRun) continue
    try {
      await builder
    } catch (error) {
      // Another run created it between our check and our CREATE: that is what we wanted.
      if (!(await knex.schema.hasTable(name))) throw error
    }
  }

  return changes
}
