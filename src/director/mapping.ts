/**
 * user_backend, one interface for both modes. A key is what a row is keyed by: the user name
 * (direct mode) or the user's 16-bit shard (shard mode). Commands ask this interface and do not
 * test the mode.
 */
import type {Knex} from 'knex'

import {type Dialect, insertRows} from '../db/dialect.js'
import {KEY_COLUMN, TABLES} from '../db/schema.js'
import {InputError} from '../errors.js'
import type {Mode} from '../settings.js'
import {SHARD_COUNT, shardOf} from './hash.js'

export type Key = string | number

export type AssignOutcome = 'created' | 'moved' | 'unchanged'

export interface AssignResult {
  key: Key
  outcome: AssignOutcome
  /** The backend the proxies routed to before (undefined: none). */
  from?: number
  to: number
  /** Extra rows for the same key that were removed (hazard 3 in lua-director.md). */
  collapsed: number
}

/** One row change: create (from null) or move (from the backend the plan saw). */
export interface Move {
  key: Key
  from: number | null
  to: number
}

export interface BatchResult {
  done: Move[]
  /** Moves whose row was no longer where the plan saw it (a proxy or operator changed it). */
  skipped: Move[]
  collapsed: number
}

export interface MappingRow {
  key: Key
  backendId: number
}

export abstract class Mapping {
  abstract readonly mode: Mode
  /** What one key is called in messages: "user" or "shard". */
  abstract readonly keyNoun: string

  constructor(
    protected readonly knex: Knex,
    protected readonly dialect: Dialect,
  ) {}

  knexOf(): Knex {
    return this.knex
  }

  dialectOf(): Dialect {
    return this.dialect
  }

  get column(): 'user' | 'user_hash' {
    return KEY_COLUMN[this.mode]
  }

  /** The key a (normalized) user name is stored under. */
  abstract keyOf(user: string): Key

  /** Keys are whole numbers in shard mode. */
  abstract parseKey(text: string): Key

  describe(key: Key): string {
    return `${this.keyNoun} ${key}`
  }

  /**
   * The backend ids of every row for `key`, in the order the published script reads them;
   * the script routes by the last one.
   */
  async rowsOf(key: Key, db: Knex | Knex.Transaction = this.knex): Promise<number[]> {
    const rows = await db(TABLES.backends)
      .join(TABLES.mapping, `${TABLES.backends}.id`, `${TABLES.mapping}.backend_id`)
      .where(`${TABLES.mapping}.${this.column}`, key)
      .select(`${TABLES.backends}.id as bid`)
    return rows.map((r: {bid: number | string}) => Number(r.bid))
  }

  /** Where the proxies route `key` today (the script keeps the last row), or undefined. */
  async routeOf(key: Key, db: Knex | Knex.Transaction = this.knex): Promise<number | undefined> {
    return (await this.rowsOf(key, db)).at(-1)
  }

  /** Rows per backend id (includes ids that have no backend row). */
  async countsByBackend(db: Knex | Knex.Transaction = this.knex): Promise<Map<number, number>> {
    const rows = await db(TABLES.mapping).select('backend_id').count({n: '*'}).groupBy('backend_id')
    return new Map(rows.map((r) => [Number((r as {backend_id: number | string}).backend_id), Number(r.n)]))
  }

  /** How many distinct keys have a row (shard mode: filled shards). */
  async distinctKeys(): Promise<number> {
    return Number((await this.knex(TABLES.mapping).countDistinct({n: this.column}).first())?.n ?? 0)
  }

  async countFor(backendId: number): Promise<number> {
    const row = await this.knex(TABLES.mapping).where('backend_id', backendId).count({n: '*'}).first()
    return Number(row?.n ?? 0)
  }

  /**
   * Point `key` at `backendId`. An existing row is moved with one UPDATE (never a delete and
   * insert: a proxy would assign a random backend in the gap); extra rows for the same key are
   * then removed in the same transaction.
   */
  async assign(key: Key, backendId: number): Promise<AssignResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.knex.transaction((trx) => this.assignIn(trx, key, backendId))
      } catch (error) {
        // A proxy inserted the same key between our read and our INSERT: read again and move it.
        if (attempt < 3 && this.dialect.isUniqueViolation(error)) continue
        throw error
      }
    }
  }

  protected async assignIn(trx: Knex.Transaction, key: Key, backendId: number): Promise<AssignResult> {
    const rows = await this.rawRows(trx, key)
    const from = (await this.rowsOf(key, trx)).at(-1) ?? rows.at(-1)
    if (rows.length === 0) {
      await trx(TABLES.mapping).insert({backend_id: backendId, [this.column]: key})
      return {collapsed: 0, key, outcome: 'created', to: backendId}
    }

    let outcome: AssignOutcome = 'unchanged'
    if (!rows.includes(backendId)) {
      const moving = from ?? rows[0]
      await trx(TABLES.mapping).where({backend_id: moving, [this.column]: key}).update({backend_id: backendId})
      outcome = 'moved'
    } else if (from !== backendId) {
      outcome = 'moved'
    }

    const collapsed = await trx(TABLES.mapping).where(this.column, key).whereNot('backend_id', backendId).delete()
    return {collapsed, from, key, outcome, to: backendId}
  }

  /** Every backend_id stored for the key, including ids with no backend row. */
  private async rawRows(db: Knex | Knex.Transaction, key: Key): Promise<number[]> {
    const query = this.dialect.lockRows(db(TABLES.mapping).where(this.column, key).select('backend_id'))
    return (await query).map((r: {backend_id: number | string}) => Number(r.backend_id))
  }

  /**
   * Apply moves in one short transaction. A move is one UPDATE guarded by the row still being on
   * `from`; a create is an INSERT that yields to a row a proxy inserted meanwhile. Whatever
   * changed under the plan is skipped and reported, never overwritten.
   */
  async applyBatch(moves: Move[]): Promise<BatchResult> {
    return this.knex.transaction(async (trx) => {
      const result: BatchResult = {collapsed: 0, done: [], skipped: []}
      const creates = moves.filter((m) => m.from === null)
      if (creates.length > 0) {
        await insertRows(trx, this.dialect, TABLES.mapping, ['backend_id', this.column], creates.map((m) => [m.to, m.key]), {ignore: true})
        const landed = new Set(
          (await trx(TABLES.mapping).whereIn(this.column, creates.map((m) => m.key)).select('backend_id', this.column))
            .map((r: Record<string, unknown>) => `${this.castKey(r[this.column])}\u0000${Number(r.backend_id)}`),
        )
        for (const m of creates) (landed.has(`${m.key}\u0000${m.to}`) ? result.done : result.skipped).push(m)
      }

      for (const m of moves) {
        if (m.from === null) continue
        const n = await trx(TABLES.mapping).where({backend_id: m.from, [this.column]: m.key}).update({backend_id: m.to})
        if (n === 0) {
          result.skipped.push(m)
          continue
        }

        result.done.push(m)
        result.collapsed += await trx(TABLES.mapping).where(this.column, m.key).whereNot('backend_id', m.to).delete()
      }

      return result
    })
  }

  /**
   * Where each key's row points (keys without a row are absent). With several rows, the one the
   * script routes by (the last whose backend exists); a row whose backend is gone counts only
   * when it is the key's only row, so that a plan can still move it.
   */
  async routesOf(keys: Key[]): Promise<Map<Key, number>> {
    const routes = new Map<Key, number>()
    const routed = new Set<Key>()
    const several = new Set<Key>()
    for (let i = 0; i < keys.length; i += 5000) {
      const rows = await this.knex(TABLES.mapping)
        .leftJoin(TABLES.backends, `${TABLES.backends}.id`, `${TABLES.mapping}.backend_id`)
        .whereIn(`${TABLES.mapping}.${this.column}`, keys.slice(i, i + 5000))
        .select(`${TABLES.mapping}.backend_id as bid`, `${TABLES.backends}.id as exists_id`, `${TABLES.mapping}.${this.column} as k`)
      for (const r of rows) {
        const key = this.castKey(r.k)
        if (routes.has(key)) several.add(key)
        if (r.exists_id !== null && r.exists_id !== undefined) {
          routes.set(key, Number(r.bid))
          routed.add(key)
        } else if (!routed.has(key)) {
          routes.set(key, Number(r.bid))
        }
      }
    }

    // Row order differs between query shapes: ask exactly as the script does for these.
    for (const key of several) {
      const bid = await this.routeOf(key)
      if (bid !== undefined) routes.set(key, bid)
    }

    return routes
  }

  /** The first `n` keys of a backend in key order: what a plan moves off it (deterministic). */
  async firstKeysOf(backendId: number, n: number): Promise<Key[]> {
    const keys: Key[] = []
    let after: Key | undefined
    while (keys.length < n) {
      const page = await this.page({after, backendId, limit: Math.min(10_000, n - keys.length)})
      keys.push(...page.map((r) => r.key))
      if (page.length === 0) break
      after = page.at(-1)!.key
    }

    return keys
  }

  /** Remove every row of `key`; returns how many there were. */
  async unassign(key: Key): Promise<number> {
    return this.knex(TABLES.mapping).where(this.column, key).delete()
  }

  /** One page of rows, ordered by key, after `after` (keyset pagination for large tables). */
  async page(options: {backendId?: number; after?: Key; limit: number}): Promise<MappingRow[]> {
    const query = this.knex(TABLES.mapping).select('backend_id', this.column).orderBy(this.column).limit(options.limit)
    if (options.backendId !== undefined) query.where('backend_id', options.backendId)
    if (options.after !== undefined) query.where(this.column, '>', options.after)
    return (await query).map((r: Record<string, unknown>) => ({backendId: Number(r.backend_id), key: this.castKey(r[this.column])}))
  }

  abstract castKey(value: unknown): Key
}

export class DirectMapping extends Mapping {
  readonly keyNoun = 'user'
  readonly mode = 'direct'

  keyOf(user: string): Key {
    return user
  }

  parseKey(text: string): Key {
    return text
  }

  castKey(value: unknown): Key {
    return String(value)
  }
}

export class ShardMapping extends Mapping {
  readonly keyNoun = 'shard'
  readonly mode = 'shard'

  keyOf(user: string): Key {
    return shardOf(user)
  }

  parseKey(text: string): Key {
    const n = Number(text)
    if (!/^\d+$/.test(text.trim()) || n >= SHARD_COUNT) throw new InputError(`Invalid shard ${JSON.stringify(text)}: a shard is a whole number from 0 to ${SHARD_COUNT - 1}`)
    return n
  }

  /** Shard mode has a fixed key space: 65536 shards. */
  get keySpace(): number {
    return SHARD_COUNT
  }

  castKey(value: unknown): Key {
    return Number(value)
  }
}

export function mappingFor(mode: Mode, knex: Knex, dialect: Dialect): Mapping {
  return mode === 'direct' ? new DirectMapping(knex, dialect) : new ShardMapping(knex, dialect)
}
