import {Flags} from '@oclif/core'

import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'

export default class UserRebalance extends PlanCommand<typeof UserRebalance> {
  static description = `Move the fewest users so that every backend holds its weight's share (direct mode).

Targets split the assigned users over up backends with weight > 0, in proportion to weight, within each tag group; each target is within 1 of its exact share. Down and weight-0 backends are emptied. With --kick each moved user is kicked on every proxy after its batch commits, so that the next login goes to the new backend. A second run plans 0 moves.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --yes --kick --max-moves 500',
  ]

  static flags = {
    'max-moves': Flags.integer({description: 'Move at most this many (those that reduce imbalance most first).'}),
    ...planFlags,
  }

  async run(): Promise<PlanDocument> {
    return this.rebalance('direct')
  }
}
