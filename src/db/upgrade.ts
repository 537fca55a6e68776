/**
 * schema:upgrade: bring tables created from the documentation up to what the scripts need and
 * what makes them safe, without a long lock on a live table. Idempotent.
 */
import {KEY_COLUMN, TABLES, UNIQUE_KEY_INDEX, ensureToolTables, type SchemaChange} from './schema.js'
import type {Connection} from './connection.js'
import {type Mapping, mappingFor} from '../director/mapping.js'
import {RefusedError} from '../errors.js'
import type {Mode} from '../settings.js'

export interface Duplicate {
  key: string | number
  backends: number[]
  /** The backend the proxies route by today (the script keeps the last row it reads). */
  keep?: number
}

export interface UpgradePlan {
  mode: Mode
  changes: SchemaChange[]
  duplicates: Duplicate[]
}

async function findDuplicates(conn: Connection, mapping: Mapping): Promise<Duplicate[]> {
  const column = mapping.column
  const keys = await conn.knex(TABLES.mapping).select(column).groupBy(column).having(conn.knex.raw('count(*) > 1')).orderBy(column)
  const result: Duplicate[] = []
  for (const row of keys) {
    const key = mapping.castKey((row as Record<string, unknown>)[column])
    const backends = (await conn.knex(TABLES.mapping).where(column, key).pluck('backend_id')).map(Number)
    result.push({backends, keep: await mapping.routeOf(key), key})
  }

  return result
}

export async function planUpgrade(conn: Connection, mode: Mode): Promise<UpgradePlan> {
  const {dialect, knex} = conn
  const changes = await ensureToolTables(knex, {dryRun: true})
  if (!('state' in (await knex(TABLES.backends).columnInfo()))) {
    changes.push({sql: dialect.addStateColumnSql(), what: 'add backends.state (the scripts select WHERE state = 0)'})
  }

  const column = KEY_COLUMN[mode]
  if (!(await dialect.uniqueColumns(knex, TABLES.mapping)).includes(column)) {
    changes.push({sql: dialect.createUniqueIndexSql(TABLES.mapping, column, UNIQUE_KEY_INDEX[mode]), what: `add a UNIQUE index on user_backend.${column} (one row per ${mode === 'direct' ? 'user' : 'shard'})`})
  }

  return {changes, duplicates: await findDuplicates(conn, mappingFor(mode, knex, dialect)), mode}
}

/**
 * Apply a plan. Duplicates block the unique index unless resolveDuplicates is "current":
 * then each key keeps the row the proxies route by today, so nobody moves.
 */
const needsIndex = (plan: UpgradePlan) => plan.changes.some((c) => c.what.startsWith('add a UNIQUE index'))

/** Refuse (exit 4, listing them) while duplicates block the index and nobody said how to resolve them. */
export function assertResolvable(plan: UpgradePlan, options: {resolveDuplicates?: 'current'}): void {
  if (needsIndex(plan) && plan.duplicates.length > 0 && options.resolveDuplicates !== 'current') {
    const sample = plan.duplicates.slice(0, 10).map((d) => `${d.key} (backends ${d.backends.join(', ')})`).join('; ')
    throw new RefusedError(`${plan.duplicates.length} ${plan.mode === 'direct' ? 'user(s)' : 'shard(s)'} have several rows, so the UNIQUE index cannot be added: ${sample}${plan.duplicates.length > 10 ? '; ...' : ''}. Nothing was changed`, [
      'Keep, for each, the row the proxies route by today: directorctl schema:upgrade --resolve-duplicates current',
    ])
  }
}

export async function applyUpgrade(conn: Connection, plan: UpgradePlan, options: {resolveDuplicates?: 'current'}): Promise<{resolved: number}> {
  const {knex} = conn
  assertResolvable(plan, options)
  await ensureToolTables(knex)
  let resolved = 0
  if (needsIndex(plan) && options.resolveDuplicates === 'current') {
    const column = KEY_COLUMN[plan.mode]
    for (const d of plan.duplicates) {
      const keep = d.keep ?? d.backends.at(-1)!
      resolved += await knex(TABLES.mapping).where(column, d.key).whereNot('backend_id', keep).delete()
    }
  }

  for (const change of plan.changes) {
    if (change.what.startsWith('create table')) continue
    for (const sql of change.sql) {
      try {
        await knex.raw(sql)
      } catch (error) {
        if (conn.dialect.isUniqueViolation(error) || /duplicate|could not create unique index|UNIQUE constraint failed/i.test((error as Error).message)) {
          throw new RefusedError('A proxy created a second row for some user or shard while the index was being added; nothing is lost, but the index is not there yet', [
            'Run again: directorctl schema:upgrade --resolve-duplicates current',
          ])
        }

        throw error
      }
    }
  }

  return {resolved}
}
