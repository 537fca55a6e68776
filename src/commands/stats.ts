import {renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {SHARD_COUNT} from '../director/hash.js'
import {InputError} from '../errors.js'
import {formatTable, percent} from '../output/table.js'
import {planRebalance} from '../plan/placement.js'

export interface StatsBackend {
  id: number
  hostname: string
  state: number
  up: boolean
  weight: number
  assigned: number
  target: number | null
}

export interface Stats {
  mode: 'direct' | 'shard'
  backends: StatsBackend[]
  backendsUp: number
  backendsDown: number
  mappings: number
  /** Rows that point at missing backends. */
  orphans: number
  shardsFilled?: number
  /** How many moves a full rebalance would make now (null: no eligible backend). */
  rebalanceMoves: number | null
  generatedAt: string
}

const label = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')

export function prometheus(stats: Stats): string {
  const lines: string[] = []
  const metric = (name: string, help: string, values: [string, number][]) => {
    lines.push(`# HELP directorctl_${name} ${help}`, `# TYPE directorctl_${name} gauge`)
    for (const [labels, value] of values) lines.push(`directorctl_${name}${labels} ${value}`)
  }

  const per = (f: (b: StatsBackend) => number | null) =>
    stats.backends.filter((b) => f(b) !== null).map((b): [string, number] => [`{backend="${b.id}",hostname="${label(b.hostname)}"}`, f(b)!])
  metric('backend_up', 'Backend state is 0 (takes new users).', per((b) => (b.up ? 1 : 0)))
  metric('backend_weight', 'Backend weight.', per((b) => b.weight))
  metric('backend_assigned', `${stats.mode === 'shard' ? 'Shards' : 'Users'} mapped to the backend.`, per((b) => b.assigned))
  metric('backend_target', 'What the weights want the backend to hold.', per((b) => b.target))
  metric('mappings', 'Rows in user_backend.', [['', stats.mappings]])
  metric('orphan_mappings', 'Rows pointing at backend ids that do not exist.', [['', stats.orphans]])
  if (stats.shardsFilled !== undefined) metric('shards_filled', `Shards with a row (of ${SHARD_COUNT}).`, [['', stats.shardsFilled]])
  if (stats.rebalanceMoves !== null) metric('rebalance_moves', 'Moves a rebalance would make now.', [['', stats.rebalanceMoves]])
  metric('generated_timestamp_seconds', 'When these numbers were read.', [['', Math.floor(Date.parse(stats.generatedAt) / 1000)]])
  return `${lines.join('\n')}\n`
}

export default class StatsCommand extends BaseCommand<typeof StatsCommand> {
  static description = `Numbers for monitoring: per-backend state, weight, assigned users or shards and weight target, shards filled, and how far the site is from its weights (the moves a rebalance would make).

--format prometheus writes the node_exporter textfile format; with --output the file is replaced atomically (written beside it, then renamed).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --format prometheus --output /var/lib/node_exporter/textfile/directorctl.prom',
  ]

  static flags = {
    format: Flags.option({default: 'text' as const, description: 'Output format (--json also works).', options: ['text', 'prometheus'] as const})(),
    output: Flags.string({description: 'Write to this file atomically instead of stdout.'}),
  }

  async run(): Promise<Stats> {
    const session = await this.session()
    const backends = await session.backends.list()
    const counts = await session.mapping.countsByBackend()
    let targets: Map<number, number> | undefined
    let moves: number | null = null
    try {
      const plan = planRebalance(backends, counts)
      targets = plan.targets
      moves = plan.moves
    } catch {
      // no eligible backend in some group: targets unknown
    }

    const known = new Set(backends.map((b) => b.id))
    const stats: Stats = {
      backends: backends.map((b) => ({
        assigned: counts.get(b.id) ?? 0,
        hostname: b.hostname,
        id: b.id,
        state: b.state,
        target: targets?.get(b.id) ?? null,
        up: b.state === 0,
        weight: b.weight,
      })),
      backendsDown: backends.filter((b) => b.state !== 0).length,
      backendsUp: backends.filter((b) => b.state === 0).length,
      generatedAt: new Date().toISOString(),
      mappings: [...counts.values()].reduce((a, b) => a + b, 0),
      mode: session.mode,
      orphans: [...counts].filter(([id]) => !known.has(id)).reduce((s, [, n]) => s + n, 0),
      rebalanceMoves: moves,
    }
    if (session.mode === 'shard') {
      stats.shardsFilled = await session.mapping.distinctKeys()
    }

    let text: string
    if (this.flags.format === 'prometheus') {
      text = prometheus(stats)
    } else {
      text = [
        formatTable(stats.backends, [
          {align: 'right', get: (b) => b.id, header: 'ID'},
          {get: (b) => b.hostname, header: 'HOSTNAME'},
          {get: (b) => (b.up ? 'up' : 'down'), header: 'STATE'},
          {align: 'right', get: (b) => b.weight, header: 'WEIGHT'},
          {align: 'right', get: (b) => b.assigned, header: 'ASSIGNED'},
          {align: 'right', get: (b) => b.target, header: 'TARGET'},
          {align: 'right', get: (b) => percent(b.assigned, stats.mappings), header: 'SHARE'},
        ]),
        `backends: ${stats.backendsUp} up, ${stats.backendsDown} down; ${stats.mappings} ${session.mapping.keyNoun}s mapped${stats.orphans ? `, ${stats.orphans} to missing backends` : ''}`,
        stats.shardsFilled === undefined ? '' : `shards filled: ${stats.shardsFilled} of ${SHARD_COUNT} (${percent(stats.shardsFilled, SHARD_COUNT)})`,
        `a rebalance would move: ${stats.rebalanceMoves ?? 'n/a (no eligible backend)'}`,
      ].filter(Boolean).join('\n') + '\n'
    }

    if (this.flags.output) {
      const target = path.resolve(this.flags.output)
      const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`)
      try {
        writeFileSync(temp, this.jsonEnabled() ? `${JSON.stringify(stats)}\n` : text, {mode: 0o644})
        renameSync(temp, target)
      } catch (error) {
        throw new InputError(`Cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      }
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text)
    }

    return stats
  }
}
