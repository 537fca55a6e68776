import {Flags} from '@oclif/core'

import {backendArg, BaseCommand, writeFlags} from '../../base-command.js'
import {TABLES} from '../../db/schema.js'

export interface BackendRemoveResult {
  id: number
  hostname: string
  removed: boolean
  discarded: number
  dryRun: boolean
}

const DISCARD_BATCH = 1000

export default class BackendRemove extends BaseCommand<typeof BackendRemove> {
  static args = {backend: backendArg()}
  static description = `Remove a backend. Refuses (exit 4) while users or shards are mapped to it.

With --discard its mappings are deleted first (the proxies then assign those users anew, at random, on their next login); to move them by weight instead, drain it first with backend:drain.`

  static examples = [
    '<%= config.bin %> <%= command.id %> mail3.example.com',
    '<%= config.bin %> <%= command.id %> mail3.example.com --discard --yes',
  ]

  static flags = {
    discard: Flags.boolean({description: 'Delete its mappings first (those users get a random backend on next login).'}),
    ...writeFlags,
  }

  async run(): Promise<BackendRemoveResult> {
    const session = await this.writeSession()
    const backend = await session.backends.find(this.args.backend)
    const mapped = await session.mapping.countFor(backend.id)
    const result = {discarded: 0, dryRun: this.dryRun, hostname: backend.hostname, id: backend.id, removed: false}
    if (this.dryRun) {
      this.out(mapped > 0 && !this.flags.discard
        ? `Would refuse: backend ${backend.id} has ${mapped} ${session.mapping.keyNoun}(s)`
        : `Would remove backend ${backend.id} (${backend.hostname})${mapped > 0 ? ` and discard ${mapped} ${session.mapping.keyNoun}(s)` : ''}`)
      return result
    }

    if (mapped > 0 && this.flags.discard) {
      await this.confirm(`Delete the ${mapped} ${session.mapping.keyNoun} mapping(s) of backend ${backend.id} (${backend.hostname})?`)
      // Down first, so the proxies do not hand it new users while it empties.
      if (session.hasState) await session.backends.setState(backend.id, false)
      const {knex} = session.conn
      for (;;) {
        const keys = await knex(TABLES.mapping).where('backend_id', backend.id).limit(DISCARD_BATCH).pluck(session.mapping.column)
        if (keys.length === 0) break
        result.discarded += await knex(TABLES.mapping).where('backend_id', backend.id).whereIn(session.mapping.column, keys).delete()
      }
    }

    await session.backends.remove(backend.id, () => session.mapping.countFor(backend.id))
    result.removed = true
    await this.audit({backend: backend.id, discarded: result.discarded, hostname: backend.hostname})
    this.out(`Removed backend ${backend.id} (${backend.hostname})${result.discarded ? `; discarded ${result.discarded} mapping(s)` : ''}`)
    return result
  }
}
