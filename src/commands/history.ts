import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type HistoryEntry, readHistory} from '../director/history.js'
import {TABLES} from '../db/schema.js'

export default class History extends BaseCommand<typeof History> {
  static description = 'Show the audit record of applied changes: when, who (OS user and host), which command, and what it changed. Newest first.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --command shard:rebalance --limit 5 --json']
  static flags = {
    command: Flags.string({description: 'Only entries of this command (e.g. backend:drain).'}),
    limit: Flags.integer({default: 20, description: 'How many entries.', min: 1}),
  }

  async run(): Promise<HistoryEntry[]> {
    const session = await this.session()
    if (!(await session.conn.knex.schema.hasTable(TABLES.history))) return []
    const entries = await readHistory(session.conn.knex, {command: this.flags.command, limit: this.flags.limit})
    for (const e of entries) {
      const {argv, ...detail} = e.detail as Record<string, unknown>
      this.out(`${e.at}  ${e.osUser}@${e.host}  ${e.command} ${Array.isArray(argv) ? argv.join(' ') : ''}\n    ${JSON.stringify(detail)}`)
    }

    return entries
  }
}
