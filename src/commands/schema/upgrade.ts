import {Flags} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import type {SchemaChange} from '../../db/schema.js'
import {applyUpgrade, assertResolvable, type Duplicate, planUpgrade} from '../../db/upgrade.js'

export interface SchemaUpgradeResult {
  mode: string
  dryRun: boolean
  changes: SchemaChange[]
  duplicates: Duplicate[]
  resolved: number
}

export default class SchemaUpgrade extends BaseCommand<typeof SchemaUpgrade> {
  static description = `Add what the published scripts need and what makes them safe to tables created from the documentation: the state column, a UNIQUE index on user / user_hash, and the tool's own tables.

Online: MariaDB adds the index with ALGORITHM=INPLACE, LOCK=NONE and PostgreSQL with CREATE INDEX CONCURRENTLY, so the proxies keep reading and inserting. Refuses (exit 4) while a user or shard has several rows, and lists them, unless --resolve-duplicates current keeps for each the row the proxies route by today (so nobody moves). Idempotent; --dry-run prints the DDL.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --resolve-duplicates current --yes',
  ]

  static flags = {
    'resolve-duplicates': Flags.option({description: 'For users or shards with several rows, keep the row the proxies route by today.', options: ['current'] as const})(),
    ...writeFlags,
  }

  async run(): Promise<SchemaUpgradeResult> {
    const session = await this.session()
    const plan = await planUpgrade(session.conn, session.mode)
    const result: SchemaUpgradeResult = {changes: plan.changes, dryRun: this.dryRun, duplicates: plan.duplicates, mode: session.mode, resolved: 0}
    if (plan.changes.length === 0) {
      this.out('The schema is up to date; nothing to do')
      return result
    }

    if (this.dryRun) {
      for (const change of plan.changes) this.out(`-- ${change.what}\n${change.sql.join(';\n')};`)
      if (plan.duplicates.length > 0) this.out(`-- ${plan.duplicates.length} ${session.mapping.keyNoun}(s) with several rows must be resolved first (--resolve-duplicates current)`)
      return result
    }

    assertResolvable(plan, {resolveDuplicates: this.flags['resolve-duplicates']})
    await this.writeSession()
    if (plan.duplicates.length > 0 && this.flags['resolve-duplicates']) {
      await this.confirm(`Delete the extra rows of ${plan.duplicates.length} ${session.mapping.keyNoun}(s), keeping the one each is routed by today?`)
    }

    const {resolved} = await applyUpgrade(session.conn, plan, {resolveDuplicates: this.flags['resolve-duplicates']})
    result.resolved = resolved
    await this.audit({changes: plan.changes.map((c) => c.what), resolved})
    for (const change of plan.changes) this.out(`done: ${change.what}`)
    if (resolved > 0) this.out(`removed ${resolved} extra row(s); every ${session.mapping.keyNoun} kept the backend it is routed to today`)
    return result
  }
}
