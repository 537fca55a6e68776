import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {SHARD_COUNT} from '../../director/hash.js'
import {InputError} from '../../errors.js'
import {formatTable, percent} from '../../output/table.js'

export interface ShardListRow {
  backend: number | null
  hostname: string | null
  shards: number
  /** Runs of consecutive shards, "0-99,204" (with --ranges or --backend). */
  ranges?: string
}

function ranges(shards: number[]): string {
  const parts: string[] = []
  for (let i = 0; i < shards.length; ) {
    let j = i
    while (j + 1 < shards.length && shards[j + 1] === shards[j] + 1) j++
    parts.push(i === j ? `${shards[i]}` : `${shards[i]}-${shards[j]}`)
    i = j + 1
  }

  return parts.join(',')
}

export default class ShardList extends BaseCommand<typeof ShardList> {
  static description = 'Shards per backend (shard mode), with the unfilled ones; --backend lists one backend\'s shards as ranges.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --backend mail1.example.com --json']
  static flags = {
    backend: Flags.string({description: 'Only this backend (id or hostname), with its shards as ranges.'}),
    ranges: Flags.boolean({description: 'Show every backend\'s shards as ranges.'}),
  }

  async run(): Promise<ShardListRow[]> {
    const session = await this.session()
    if (session.mode !== 'shard') throw new InputError('shard:list is for shard mode; this database is in direct mode', ['Use: directorctl backend:list or user:list'])
    const backends = await session.backends.list()
    const only = this.flags.backend ? (await session.backends.find(this.flags.backend)).id : undefined
    const counts = await session.mapping.countsByBackend()
    const filled = [...counts.values()].reduce((a, b) => a + b, 0)
    const rows: ShardListRow[] = backends
      .filter((b) => only === undefined || b.id === only)
      .map((b) => ({backend: b.id, hostname: b.hostname, shards: counts.get(b.id) ?? 0}))
    if (only === undefined) rows.push({backend: null, hostname: null, shards: Math.max(0, SHARD_COUNT - filled)})
    if (only !== undefined || this.flags.ranges) {
      for (const row of rows) {
        if (row.backend === null) continue
        const keys = (await session.mapping.firstKeysOf(row.backend, row.shards)) as number[]
        row.ranges = ranges(keys)
      }
    }

    this.out(formatTable(rows, [
      {align: 'right', get: (r) => r.backend ?? '-', header: 'ID'},
      {get: (r) => r.hostname ?? '(unfilled)', header: 'HOSTNAME'},
      {align: 'right', get: (r) => r.shards, header: 'SHARDS'},
      {align: 'right', get: (r) => percent(r.shards, SHARD_COUNT), header: 'SHARE'},
      ...(rows.some((r) => r.ranges !== undefined) ? [{get: (r: ShardListRow) => r.ranges, header: 'RANGES'}] : []),
    ]))
    return rows
  }
}
