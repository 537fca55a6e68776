/**
 * Writing many mappings fast and safely: batches that each commit on their own (so a killed
 * import re-run finishes the job), multi-row INSERTs within the engine's bind limits, and a
 * guarded UPDATE for keys that already have a row elsewhere (never delete-then-insert).
 */
import {insertRows} from '../db/dialect.js'
import {TABLES} from '../db/schema.js'
import type {Key, Mapping} from '../director/mapping.js'

export interface BulkCounts {
  created: number
  moved: number
  unchanged: number
}

export class BulkWriter {
  readonly counts: BulkCounts = {created: 0, moved: 0, unchanged: 0}
  private pending = new Map<Key, number>()

  constructor(
    private readonly mapping: Mapping,
    private readonly options: {batchSize: number; dryRun?: boolean; onFlush?: (counts: BulkCounts) => void},
  ) {}

  async add(key: Key, backendId: number): Promise<void> {
    this.pending.set(key, backendId)
    if (this.pending.size >= this.options.batchSize) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    const {mapping} = this
    const knex = mapping.knexOf()
    const column = mapping.column
    const keys = [...batch.keys()]
    const work = async (db: typeof knex) => {
      const current = new Map<Key, number>()
      for (let i = 0; i < keys.length; i += 10_000) {
        for (const r of await db(TABLES.mapping).whereIn(column, keys.slice(i, i + 10_000)).select(column, 'backend_id')) {
          current.set(mapping.castKey((r as Record<string, unknown>)[column]), Number((r as {backend_id: number}).backend_id))
        }
      }

      const creates: unknown[][] = []
      const moves: [Key, number, number][] = []
      for (const [key, to] of batch) {
        const from = current.get(key)
        if (from === undefined) creates.push([to, key])
        else if (from === to) this.counts.unchanged++
        else moves.push([key, from, to])
      }

      if (!this.options.dryRun) {
        await insertRows(db, mapping.dialectOf(), TABLES.mapping, ['backend_id', column], creates, {ignore: true})
        for (const [key, from, to] of moves) await db(TABLES.mapping).where({backend_id: from, [column]: key}).update({backend_id: to})
      }

      this.counts.created += creates.length
      this.counts.moved += moves.length
    }

    await (this.options.dryRun ? work(knex) : knex.transaction((trx) => work(trx as unknown as typeof knex)))
    this.options.onFlush?.(this.counts)
  }
}
