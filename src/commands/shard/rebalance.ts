import {Flags} from '@oclif/core'

import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'

export default class ShardRebalance extends PlanCommand<typeof ShardRebalance> {
  static description = `Move the fewest shards so that every backend holds its weight's share (shard mode).

Targets split the assigned shards over up backends with weight > 0, in proportion to weight, within each tag group (backends with the same tags); each target is within 1 of its exact share. Down and weight-0 backends are emptied. Each move is one guarded UPDATE in a short batch: a shard that changed meanwhile is skipped and reported. A second run plans 0 moves.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --yes --max-moves 2000 --pause 100',
    '<%= config.bin %> <%= command.id %> --yes --json',
  ]

  static flags = {
    'max-moves': Flags.integer({description: 'Move at most this many (those that reduce imbalance most first).'}),
    ...planFlags,
  }

  async run(): Promise<PlanDocument> {
    return this.rebalance('shard')
  }
}
