/**
 * What every planning command (rebalance, drain, fill) shares: the --max-moves / --kick /
 * batch flags, the plan document of cli-contract.md, confirmation, and the one applier.
 */
import {type Command, Flags} from '@oclif/core'

import {BaseCommand, proxyFlags, writeFlags} from './base-command.js'
import type {Backend} from './director/backends.js'
import type {Key, Move} from './director/mapping.js'
import {InputError} from './errors.js'
import {Progress} from './output/progress.js'
import {type ApplyResult, applyMoves} from './plan/apply.js'
import {assignKeys, type Counts, countsJson, outflows, planDrain, planRebalance, type RebalancePlan} from './plan/placement.js'
import type {Session} from './session.js'
import type {Mode} from './settings.js'

export interface PlanDocument {
  dryRun: boolean
  moves?: number
  changes?: number
  plan: {key: Key; from: number | null; to: number}[]
  before: Record<string, number>
  after: Record<string, number>
  targets?: Record<string, number>
  applied?: {created: number; moved: number; skipped: number}
  /** Counts per backend read back after applying (differs from `after` only if others changed rows meanwhile). */
  result?: Record<string, number>
}

export const planFlags = {
  'batch-size': Flags.integer({default: 500, description: 'Rows changed per transaction.', min: 1}),
  kick: Flags.boolean({description: 'Direct mode: kick each moved user on every proxy after its batch commits.'}),
  pause: Flags.integer({default: 0, description: 'Milliseconds to wait between batches (to spare a busy database).', min: 0}),
  ...proxyFlags,
  ...writeFlags,
}

export abstract class PlanCommand<T extends typeof Command> extends BaseCommand<T> {
  /** shard:rebalance and user:rebalance: the same plan, each for its own mode. */
  protected async rebalance(mode: Mode): Promise<PlanDocument> {
    const session = await this.writeSession()
    if (session.mode !== mode) {
      const other = mode === 'shard' ? 'user:rebalance' : 'shard:rebalance'
      throw new InputError(`${this.id} is for ${mode} mode; this database is in ${session.mode} mode`, [`Use: directorctl ${other}`])
    }

    const plan = planRebalance(await session.backends.list(), await session.mapping.countsByBackend(), {maxMoves: this.maxMoves()})
    return this.execute(session, await this.movesFor(session, plan), plan, 'moves')
  }

  /** backend:drain, remove --drain and check --drain-after: down first, then everything off it. */
  protected async drain(session: Session, backend: Backend): Promise<PlanDocument> {
    const backends = (await session.backends.list()).map((b) => (b.id === backend.id ? {...b, state: 1} : b))
    const plan = planDrain(backends, await session.mapping.countsByBackend(), backend.id)
    if (!this.dryRun && backend.state === 0) {
      await session.backends.setState(backend.id, false)
      this.note(`backend ${backend.hostname} is down: no new ${session.mapping.keyNoun}s`)
    }

    return this.execute(session, await this.movesFor(session, plan), plan, 'moves')
  }

  /** Fetch the keys the flows move (each donor's first keys in key order) and make moves. */
  protected async movesFor(session: Session, plan: RebalancePlan): Promise<Move[]> {
    const byDonor = new Map<number, Key[]>()
    for (const [donor, n] of outflows(plan.flows)) byDonor.set(donor, await session.mapping.firstKeysOf(donor, n))
    return assignKeys(plan.flows, byDonor)
  }

  protected maxMoves(): number | undefined {
    const raw = (this.flags as Record<string, unknown>)['max-moves']
    if (raw === undefined) return undefined
    if (!Number.isInteger(raw) || (raw as number) < 1) throw new InputError('--max-moves must be a positive whole number')
    return raw as number
  }

  /** Print or apply `moves`, and return the contract's plan document. */
  protected async execute(session: Session, moves: Move[], counts: {before: Counts; after: Counts; targets?: Counts}, word: 'moves' | 'changes'): Promise<PlanDocument> {
    const f = this.flags as Record<string, unknown>
    const doc: PlanDocument = {
      after: countsJson(counts.after),
      before: countsJson(counts.before),
      dryRun: this.dryRun,
      [word]: moves.length,
      plan: moves,
      targets: counts.targets ? countsJson(counts.targets) : undefined,
    }
    const noun = session.mapping.keyNoun
    if (f.kick && session.mode !== 'direct') throw new InputError('--kick moves users one by one: it is for direct mode (shard mode moves shards, whose users are not stored)')
    if (moves.length === 0) {
      this.out(`Nothing to do: every ${noun} is where the weights want it`)
      return doc
    }

    if (this.dryRun || !this.jsonEnabled()) this.printPlan(moves, counts, noun)
    if (this.dryRun) return doc
    const existing = moves.filter((m) => m.from !== null).length
    if (existing > 0) await this.confirm(`Move ${existing} ${noun}(s)?`)
    const progress = new Progress(word === 'moves' ? 'moving' : 'creating', moves.length, {quiet: this.jsonEnabled()})
    const applied: ApplyResult = await applyMoves(session.mapping, moves, {
      afterBatch: async (done) => {
        if (f.kick) await this.kickUsers(done.filter((m) => m.from !== null).map((m) => String(m.key)))
        if (f.pause) await new Promise((resolve) => setTimeout(resolve, f.pause as number))
      },
      batchSize: f['batch-size'] as number,
      onProgress: (done) => progress.update(done),
    })
    progress.finish()
    // A create skipped because a proxy assigned the key first leaves the key assigned: done.
    const lostMoves = applied.skipped.filter((m) => m.from !== null).length
    const createdByOthers = applied.skipped.length - lostMoves
    doc.applied = {created: applied.created, moved: applied.moved, skipped: lostMoves}
    doc.result = countsJson(await session.mapping.countsByBackend())
    await this.audit({created: applied.created, createdByOthers, moved: applied.moved, skipped: lostMoves})
    const notes = [
      createdByOthers > 0 ? `${createdByOthers} assigned by the proxies meanwhile` : '',
      lostMoves > 0 ? `${lostMoves} skipped because a proxy or operator changed them meanwhile (run again)` : '',
    ].filter(Boolean)
    this.out(`Done: ${applied.moved} moved, ${applied.created} created${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`)
    if (lostMoves > 0) process.exitCode = 4
    return doc
  }

  private printPlan(moves: Move[], counts: {before: Counts; after: Counts; targets?: Counts}, noun: string): void {
    const ids = [...new Set([...counts.before.keys(), ...counts.after.keys()])].sort((a, b) => a - b)
    this.out(`${this.dryRun ? 'Would change' : 'Changing'} ${moves.length} ${noun}(s):`)
    for (const id of ids) {
      const target = counts.targets?.get(id)
      this.out(`  backend ${id}: ${counts.before.get(id) ?? 0} -> ${counts.after.get(id) ?? 0}${target === undefined ? '' : ` (target ${target})`}`)
    }

    if ((this.flags as Record<string, unknown>).verbose || this.dryRun) {
      for (const m of moves.slice(0, 50)) this.out(`  ${noun} ${m.key}: ${m.from ?? 'none'} -> ${m.to}`)
      if (moves.length > 50) this.out(`  ... and ${moves.length - 50} more (--json lists all)`)
    }
  }
}
