import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {initSchema, type SchemaChange} from '../../db/schema.js'
import {InputError} from '../../errors.js'
import {openDatabase} from '../../session.js'

export interface SchemaInitResult {
  mode: string
  database: string
  dryRun: boolean
  changes: SchemaChange[]
}

export default class SchemaInit extends BaseCommand<typeof SchemaInit> {
  static description = `Create the backends and user_backend tables for the published Lua director scripts.

Direct mode (director.lua) keeps one row per user; shard mode (director-shard.lua) one row per 16-bit shard of the user name. The tables are exactly the documented ones, plus the state column in shard mode (which director-shard.lua needs), a UNIQUE index on user / user_hash (which makes the scripts' insert-race retry work), and the tool's own directorctl_* tables. Idempotent: existing tables are kept as they are, never dropped or altered; use schema:upgrade to fix existing tables.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --mode direct',
    '<%= config.bin %> <%= command.id %> --mode shard --db mysql://director@db1.example.com/director',
    '<%= config.bin %> <%= command.id %> --mode shard --dry-run',
  ]

  static flags = {
    'dry-run': Flags.boolean({description: 'Print the DDL and change nothing.'}),
  }

  async run(): Promise<SchemaInitResult> {
    const mode = this.settings.mode
    if (!mode) throw new InputError('schema:init needs --mode direct or --mode shard')
    const conn = this.track(await openDatabase(this.settings, {create: !this.flags['dry-run']}))
    this.verbose(`database: ${conn.description}`)
    const changes = await initSchema(conn.knex, mode, {dryRun: this.flags['dry-run']})
    if (changes.length === 0) {
      this.note(`${conn.description} already has the ${mode}-mode schema; nothing to do`)
    } else if (this.flags['dry-run']) {
      for (const change of changes) this.out(`-- ${change.what}\n${change.sql.join(';\n')};`)
    } else {
      for (const change of changes) this.note(`${change.what}`)
      this.note(`${conn.description} is ready in ${mode} mode`)
    }

    return {changes, database: conn.description, dryRun: this.flags['dry-run'], mode}
  }
}
