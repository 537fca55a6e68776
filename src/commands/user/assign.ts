import {Args, Flags} from '@oclif/core'

import {BaseCommand, proxyFlags, writeFlags} from '../../base-command.js'
import {backendRef, type BackendRef, routeOfUser} from '../../director/route.js'
import type {KickResult} from '../../doveadm/client.js'
import {InputError} from '../../errors.js'
import {parseAssignmentFile, planAssignments} from '../../importers/assignments.js'
import {Progress} from '../../output/progress.js'
import {applyMoves} from '../../plan/apply.js'

export interface UserAssignResult {
  user: string
  mode: 'direct' | 'shard'
  shard?: number
  backend: BackendRef
  previous: BackendRef | null
  outcome: 'created' | 'moved' | 'unchanged'
  /** Extra rows of the same user / shard that were removed. */
  collapsed: number
  dryRun: boolean
  kicked?: KickResult[]
}

export interface UserAssignFileResult {
  dryRun: boolean
  lines: number
  changes: number
  created: number
  moved: number
  unchanged: number
  skipped: number
  plan: {key: string | number; from: number | null; to: number}[]
}

export default class UserAssign extends BaseCommand<typeof UserAssign> {
  static args = {
    user: Args.string({description: 'User name (lowercased unless --no-lowercase).'}),
    backend: Args.string({description: 'Backend id or hostname.'}),
  }

  static description = `Assign a user to a backend, or move it there.

A move is a single UPDATE in a short transaction (never a delete and insert, which would let a proxy assign a random backend in between); extra rows for the same user are removed in the same transaction. In shard mode the user's shard is moved, with every other user in it: the command says which shard. A down backend is allowed as the target, with a warning.

With --file, every line of a CSV or TSV file "user,backend" (header optional) is validated first: any bad line is reported with its number and nothing is written. Then changes are applied in bounded batches; running the same file again changes nothing.

With --kick, the user's live sessions are kicked on every proxy after the move commits, so that the next login goes to the new backend.`

  static examples = [
    '<%= config.bin %> <%= command.id %> alice@example.com mail2.example.com',
    '<%= config.bin %> <%= command.id %> alice@example.com 2 --kick --yes --proxy http://proxy1:8080',
    '<%= config.bin %> <%= command.id %> --file moves.csv --yes',
  ]

  static flags = {
    'batch-size': Flags.integer({default: 500, description: 'Rows per transaction with --file.', min: 1}),
    file: Flags.string({description: 'CSV or TSV file of "user,backend" lines ("-" for stdin).', exclusive: ['kick']}),
    kick: Flags.boolean({description: 'Kick the user\'s live sessions on every proxy after the move.'}),
    ...proxyFlags,
    ...writeFlags,
  }

  async run(): Promise<UserAssignResult | UserAssignFileResult> {
    if (this.flags.file) {
      if (this.args.user || this.args.backend) throw new InputError('Give either USER BACKEND or --file, not both')
      return this.assignFile(this.flags.file)
    }

    if (!this.args.user || !this.args.backend) throw new InputError('Give USER and BACKEND (or --file FILE)', ['directorctl user:assign alice@example.com mail2.example.com'])
    return this.assignOne(this.args.user, this.args.backend)
  }

  private async assignOne(name: string, backendName: string): Promise<UserAssignResult> {
    const user = this.user(name)
    const session = await this.writeSession()
    const target = await session.backends.find(backendName)
    const {key, route} = await routeOfUser(session, user)
    const shard = session.mode === 'shard' ? (key as number) : undefined
    const what = shard === undefined ? user : `shard ${shard} (${user} and every other user in it)`
    if (target.state !== 0) this.warning(`backend ${target.hostname} is down; ${what} will be routed to it anyway`)
    const previous = route?.backend ?? null
    const result: UserAssignResult = {
      backend: backendRef(target),
      collapsed: 0,
      dryRun: this.dryRun,
      mode: session.mode,
      outcome: previous?.id === target.id && !route?.rows ? 'unchanged' : route ? 'moved' : 'created',
      previous,
      shard,
      user,
    }

    if (this.dryRun) {
      this.out(`Would ${result.outcome === 'unchanged' ? 'leave' : result.outcome === 'created' ? 'assign' : 'move'} ${what} ${previous && result.outcome !== 'created' ? `from ${previous.hostname} ` : ''}to ${target.hostname}`)
      return result
    }

    if (route && result.outcome === 'moved') await this.confirm(`Move ${what} from ${previous?.hostname ?? 'a missing backend'} to ${target.hostname}?`)
    const applied = await session.mapping.assign(key, target.id)
    result.outcome = applied.outcome
    result.collapsed = applied.collapsed
    if (applied.outcome !== 'unchanged') await this.audit({from: applied.from ?? null, key, outcome: applied.outcome, to: target.id, user})
    const verb = {created: 'Assigned', moved: 'Moved', unchanged: 'Unchanged:'}[applied.outcome]
    this.out(`${verb} ${what} ${applied.outcome === 'moved' && previous ? `from ${previous.hostname} ` : ''}${applied.outcome === 'unchanged' ? 'already on' : 'to'} ${target.hostname}`)
    if (applied.collapsed > 0) this.note(`removed ${applied.collapsed} extra row(s) for ${session.mapping.describe(key)}`)
    if (this.flags.kick) {
      if (shard !== undefined) this.note(`kicking ${user} only; other users of shard ${shard} keep their sessions on the old backend until they reconnect`)
      result.kicked = await this.kickUsers([user])
    }

    return result
  }

  private async assignFile(file: string): Promise<UserAssignFileResult> {
    const session = await this.writeSession()
    const backends = await session.backends.list()
    const {assignments, lines} = await parseAssignmentFile(file, {backends, lowercase: this.settings.lowercase, mapping: session.mapping})
    for (const b of new Set(assignments.map((a) => a.backend).filter((b) => b.state !== 0))) {
      this.warning(`backend ${b.hostname} is down; users assigned to it will be routed to it anyway`)
    }

    const keys = assignments.map((a) => a.key)
    let moves = planAssignments(assignments, await session.mapping.routesOf(keys))
    const result: UserAssignFileResult = {
      changes: moves.length,
      created: 0,
      dryRun: this.dryRun,
      lines,
      moved: 0,
      plan: moves,
      skipped: 0,
      unchanged: assignments.length - moves.length,
    }
    const moving = moves.filter((m) => m.from !== null).length
    if (this.dryRun || moves.length === 0) {
      this.out(`${this.dryRun ? 'Would change' : 'Nothing to change:'} ${moves.length - moving} new, ${moving} moved, ${result.unchanged} unchanged (${assignments.length} ${session.mapping.keyNoun}s from ${lines} lines)`)
      return result
    }

    if (moving > 0) await this.confirm(`Move ${moving} existing ${session.mapping.keyNoun}(s) to new backends?`)
    const progress = new Progress('assigning', moves.length, {quiet: this.jsonEnabled()})
    // A proxy may assign a user between our plan and our write: plan those again (a few rounds).
    for (let round = 0; round < 3 && moves.length > 0; round++) {
      const applied = await applyMoves(session.mapping, moves, {batchSize: this.flags['batch-size'], onProgress: (done) => progress.update(done)})
      result.created += applied.created
      result.moved += applied.moved
      const retry = new Set(applied.skipped.map((m) => m.key))
      moves = planAssignments(assignments.filter((a) => retry.has(a.key)), await session.mapping.routesOf([...retry]))
    }

    progress.finish()
    result.skipped = moves.length
    await this.audit({created: result.created, file, moved: result.moved, skipped: result.skipped})
    this.out(`Assigned ${result.created} new, moved ${result.moved}, ${result.unchanged} unchanged${result.skipped ? `, ${result.skipped} changed by others meanwhile (run again)` : ''}`)
    if (result.skipped > 0) process.exitCode = 4
    return result
  }
}
