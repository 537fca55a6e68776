import {Flags} from '@oclif/core'

import {SHARD_COUNT} from '../../director/hash.js'
import type {Move} from '../../director/mapping.js'
import {InputError, RefusedError} from '../../errors.js'
import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'
import {groupOf, planFill} from '../../plan/placement.js'
import {TABLES} from '../../db/schema.js'

export default class ShardFill extends PlanCommand<typeof ShardFill> {
  static description = `Create a row for every shard that has none, by weight (shard mode).

Without this, the proxies assign an unfilled shard at random on its first login, and two proxies can race to assign the same shard. New shards go to the up backends with weight > 0 that have no tags (or those of --tag), each to the one most under its weight target. Existing rows are never changed; re-running fills only what is still missing.`

  static examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %> --yes']

  static flags = {
    tag: Flags.string({description: 'Fill onto the backends with exactly these tags (repeatable; default: untagged backends).', multiple: true}),
    ...planFlags,
  }

  async run(): Promise<PlanDocument> {
    const session = await this.writeSession()
    if (session.mode !== 'shard') throw new InputError('shard:fill is for shard mode; this database is in direct mode')
    const {knex} = session.conn
    const assigned = new Set((await knex(TABLES.mapping).distinct('user_hash').pluck('user_hash')).map(Number))
    const missing: number[] = []
    for (let shard = 0; shard < SHARD_COUNT; shard++) if (!assigned.has(shard)) missing.push(shard)
    const group = [...(this.flags.tag ?? [])].sort().join(',')
    const backends = (await session.backends.list()).filter((b) => groupOf(b) === group)
    if (missing.length > 0 && backends.length === 0) {
      throw new RefusedError(`No backend ${group ? `with tags ${group}` : 'without tags'} to fill ${missing.length} shard(s) onto`, ['Add one, or pass --tag'])
    }

    const counts = await session.mapping.countsByBackend()
    const fill = planFill(backends, counts, missing.length)
    const moves: Move[] = []
    let next = 0
    // Contiguous runs of shards per backend, in shard order: deterministic and easy to read.
    for (const [id, n] of [...fill.placed].sort((a, b) => a[0] - b[0])) {
      for (let i = 0; i < n; i++) moves.push({from: null, key: missing[next++], to: id})
    }

    return this.execute(session, moves, fill, 'changes')
  }
}

