import {Flags} from '@oclif/core'

import {backendArg} from '../../base-command.js'
import {TABLES} from '../../db/schema.js'
import {InputError} from '../../errors.js'
import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'

export interface BackendRemoveResult {
  id: number
  hostname: string
  removed: boolean
  discarded: number
  dryRun: boolean
  drain?: PlanDocument
}

const DISCARD_BATCH = 1000

export default class BackendRemove extends PlanCommand<typeof BackendRemove> {
  static args = {backend: backendArg()}
  static description = `Remove a backend. Refuses (exit 4) while users or shards are mapped to it.

With --drain its users or shards are first moved to the other backends by weight (as backend:drain), then it is removed. With --discard its mappings are deleted instead (the proxies then assign those users anew, at random, on their next login).`

  static examples = [
    '<%= config.bin %> <%= command.id %> mail3.example.com',
    '<%= config.bin %> <%= command.id %> mail3.example.com --drain --yes',
    '<%= config.bin %> <%= command.id %> mail3.example.com --discard --yes',
  ]

  static flags = {
    discard: Flags.boolean({description: 'Delete its mappings first (those users get a random backend on next login).', exclusive: ['drain']}),
    drain: Flags.boolean({description: 'Move its mappings to the other backends by weight first, then remove it.'}),
    ...planFlags,
  }

  async run(): Promise<BackendRemoveResult> {
    const session = await this.writeSession()
    const backend = await session.backends.find(this.args.backend)
    let mapped = await session.mapping.countFor(backend.id)
    let drain: PlanDocument | undefined
    if (mapped > 0 && this.flags.drain) {
      drain = await this.drain(session, backend)
      if (this.dryRun) return {discarded: 0, drain, dryRun: true, hostname: backend.hostname, id: backend.id, removed: false}
      mapped = await session.mapping.countFor(backend.id)
      if (mapped > 0) throw new InputError(`Backend ${backend.id} still has ${mapped} mapping(s) after draining (changed meanwhile); run again`)
    }

    const result: BackendRemoveResult = {discarded: 0, drain, dryRun: this.dryRun, hostname: backend.hostname, id: backend.id, removed: false}
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
