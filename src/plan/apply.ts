/**
 * The one applier for every plan: bounded batches, each its own short transaction, with
 * progress, the run lock checked between batches, and an optional hook after each commit
 * (kicking moved users).
 */
import type {RunLock} from '../db/lock.js'
import type {Mapping, Move} from '../director/mapping.js'

export const DEFAULT_BATCH_SIZE = 500

export interface ApplyOptions {
  batchSize?: number
  lock?: RunLock
  onProgress?: (done: number, total: number) => void
  /** Called after each batch commits, with the moves it made. */
  afterBatch?: (done: Move[]) => Promise<void>
}

export interface ApplyResult {
  created: number
  moved: number
  collapsed: number
  skipped: Move[]
}

export async function applyMoves(mapping: Mapping, moves: Move[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const size = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE)
  const result: ApplyResult = {collapsed: 0, created: 0, moved: 0, skipped: []}
  for (let i = 0; i < moves.length; i += size) {
    options.lock?.assertHeld()
    const batch = await mapping.applyBatch(moves.slice(i, i + size))
    for (const m of batch.done) {
      if (m.from === null) result.created++
      else result.moved++
    }

    result.collapsed += batch.collapsed
    result.skipped.push(...batch.skipped)
    if (options.afterBatch && batch.done.length > 0) await options.afterBatch(batch.done)
    options.onProgress?.(Math.min(moves.length, i + size), moves.length)
  }

  return result
}
