import {Flags} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import type {Backend} from '../../director/backends.js'
import {shardOf} from '../../director/hash.js'
import {RefusedError} from '../../errors.js'
import {BulkWriter} from '../../importers/bulk.js'
import {type Dump, parseDump, parseMap, parseStatus, type StatusHost} from '../../importers/director2x.js'
import {readTextFile} from '../../importers/lines.js'
import {mapIndex, mergeHosts, ringsByTag, syncBackends, userLines, validateUsers} from '../../importers/migrate.js'
import {Progress} from '../../output/progress.js'
import {countsJson, weightTargets} from '../../plan/placement.js'

export interface ShardConflict {
  shard: number
  tags: Record<string, string[]>
  chosenTag: string
}

export interface ImportResult {
  dryRun: boolean
  mode: 'direct' | 'shard'
  placement: 'director' | 'balanced'
  users: number
  changes: number
  created: number
  moved: number
  unchanged: number
  backends: {created: number; updated: number}
  /** Users whose backend differs from the one in --map (they change server at cut-over). */
  changedVsMap: number
  /** Shard mode: users whose shard goes to another backend than the one their 2.x host maps to. */
  usersChangingServer?: number
  conflicts?: ShardConflict[]
  rule?: string
  before: Record<string, number>
  after: Record<string, number>
  plan: {key: string | number; to: number}[]
  planTruncated: boolean
}

const PLAN_LIMIT = 1000
const SAMPLE_USERS = 10

export default class ImportDirectorTag extends BaseCommand<typeof ImportDirectorTag> {
  static description = `Migrate from the Dovecot 2.x director: hosts with tags and vhosts, and every user.

Inputs are 2.x outputs in any of doveadm's formats (text, -f tab, -f json): the host list (--dump and/or --status; status carries up/down), the users with their tags (--users, "user<TAB>tag", empty tag allowed) and optionally the current placement (--map). Backends are created or updated: the 2.x IP as hostname and hostip, vhosts as weight, the tag as tag, down as state.

--placement director (default) puts every user exactly where the 2.x director would (its MD5 ring over the up hosts of the user's tag); users in --map keep their current host, so nobody changes server at cut-over even while old and new proxies run side by side. --placement balanced places by weight within the tag instead (users in --map keep their host). A user's tag is always respected.

In shard mode users that share a shard share a backend: each shard goes to the host most of its users have, within their tag. Users of different tags in one shard are conflicts: they are all reported, and --on-conflict majority places the shard with the tag most of its users have (fail, the default, changes nothing).

The whole user file is validated first (line numbers, nothing written on error); then it is streamed and written in batches that each commit, so a killed import run again finishes the job.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --dump dump.txt --status status.txt --users users.tsv --map map.txt --dry-run',
    '<%= config.bin %> <%= command.id %> --status status.json --users users.tsv --yes',
    '<%= config.bin %> <%= command.id %> --dump dump.tab --users users.tsv --placement balanced --on-conflict majority --yes',
  ]

  static flags = {
    'batch-size': Flags.integer({default: 5000, description: 'Rows per transaction.', min: 1}),
    dump: Flags.string({description: '`doveadm director dump` output (hosts, tags, vhosts).'}),
    map: Flags.string({description: '`doveadm director map` output: users there keep their current host.'}),
    'on-conflict': Flags.option({default: 'fail' as const, description: 'Shard mode: users of different tags in one shard.', options: ['fail', 'majority'] as const})(),
    placement: Flags.option({default: 'director' as const, description: 'Where users without a --map entry go.', options: ['director', 'balanced'] as const})(),
    status: Flags.string({description: '`doveadm director status` output (hosts with up/down).'}),
    users: Flags.string({description: 'Users and their tags: "user<TAB>tag" per line (TSV or CSV).', required: true}),
    ...writeFlags,
  }

  /** Before anything is written: shards whose users have different tags (shard mode, --on-conflict fail). */
  private async refuseTagConflicts(file: string, lowercase: boolean): Promise<void> {
    const tags = new Map<number, Map<string, string[]>>()
    for await (const {tag, user} of userLines(file, lowercase)) {
      const shard = shardOf(user)
      const byTag = tags.get(shard) ?? new Map<string, string[]>()
      const users = byTag.get(tag) ?? []
      if (users.length < SAMPLE_USERS && !users.includes(user)) users.push(user)
      byTag.set(tag, users)
      tags.set(shard, byTag)
    }

    const conflicts = [...tags].filter(([, byTag]) => byTag.size > 1).sort((a, b) => a[0] - b[0])
    if (conflicts.length === 0) return
    for (const [shard, byTag] of conflicts.slice(0, 50)) this.warning(`shard ${shard} mixes tags: ${[...byTag].map(([t, u]) => `${t || '(none)'}: ${u.join(' ')}`).join('; ')}`)
    throw new RefusedError(`${conflicts.length} shard(s) hold users of different tags, which one backend cannot honour; nothing was changed`, [
      'Pass --on-conflict majority to place each by the tag most of its users have',
    ])
  }

  async run(): Promise<ImportResult> {
    const {flags} = this
    const lowercase = this.settings.lowercase
    const dump: Dump | undefined = flags.dump ? parseDump(readTextFile(flags.dump), flags.dump) : undefined
    const status: StatusHost[] | undefined = flags.status ? parseStatus(readTextFile(flags.status), flags.status) : undefined
    const hosts = mergeHosts(dump, status)
    const map = mapIndex(flags.map ? parseMap(readTextFile(flags.map), flags.map) : undefined, lowercase)
    const summary = await validateUsers(flags.users, hosts, lowercase)

    const session = await this.writeSession()
    const {mapping} = session
    if (session.mode === 'shard' && flags['on-conflict'] === 'fail') await this.refuseTagConflicts(flags.users, lowercase)
    const before = await mapping.countsByBackend()
    const synced = await syncBackends(session.backends, hosts, this.dryRun)
    const tagOfIp = new Map(hosts.map((h) => [h.ip, h.tag]))
    const rings = ringsByTag(hosts)
    const backendsOfTag = new Map<string, Backend[]>()
    for (const h of hosts) backendsOfTag.set(h.tag, [...(backendsOfTag.get(h.tag) ?? []), synced.byIp.get(h.ip)!])

    // Balanced: weight targets per tag over the imported users; placed one by one, most under target first.
    const targets = new Map<number, number>()
    const placed = new Map<number, number>()
    if (flags.placement === 'balanced') {
      for (const [tag, n] of summary.perTag) for (const [id, t] of weightTargets(n, backendsOfTag.get(tag) ?? [])) targets.set(id, t)
    }

    const choose = (user: string, tag: string): {backend: Backend; mapped: string | undefined} => {
      const mapped = map.get(user)
      const keep = mapped !== undefined && tagOfIp.get(mapped) === tag ? mapped : undefined
      if (keep) return {backend: synced.byIp.get(keep)!, mapped}
      if (flags.placement === 'director') return {backend: synced.byIp.get(rings.get(tag)!.hostFor(user))!, mapped}
      let best: Backend | undefined
      let bestScore = Number.NEGATIVE_INFINITY
      for (const b of backendsOfTag.get(tag) ?? []) {
        if (b.state !== 0 || b.weight === 0) continue
        const score = (targets.get(b.id) ?? 0) - (placed.get(b.id) ?? 0)
        if (score > bestScore) {
          best = b
          bestScore = score
        }
      }

      return {backend: best!, mapped}
    }

    const result: ImportResult = {
      after: {},
      backends: {created: synced.created, updated: synced.updated},
      before: countsJson(before),
      changedVsMap: 0,
      changes: 0,
      created: 0,
      dryRun: this.dryRun,
      mode: session.mode,
      moved: 0,
      placement: flags.placement,
      plan: [],
      planTruncated: false,
      unchanged: 0,
      users: summary.users,
    }
    const writer = new BulkWriter(mapping, {batchSize: flags['batch-size'], dryRun: this.dryRun})
    const addToPlan = (key: string | number, to: number) => {
      if (result.plan.length < PLAN_LIMIT) result.plan.push({key, to})
      else result.planTruncated = true
    }

    const progress = new Progress('importing', summary.users, {quiet: this.jsonEnabled()})
    let done = 0
    if (session.mode === 'direct') {
      for await (const {line, tag, user} of userLines(flags.users, lowercase)) {
        if (summary.repeats.has(line)) continue
        const {backend, mapped} = choose(user, tag)
        placed.set(backend.id, (placed.get(backend.id) ?? 0) + 1)
        if (mapped !== undefined && mapped !== backend.hostip) result.changedVsMap++
        addToPlan(user, backend.id)
        await writer.add(user, backend.id)
        progress.update(++done)
      }
    } else {
      // Shard mode: tally per shard, tag and backend (bounded by 65536 shards), then decide.
      const tally = new Map<number, Map<string, {backends: Map<number, number>; users: string[]; mapped: Map<number, number>}>>()
      for await (const {line, tag, user} of userLines(flags.users, lowercase)) {
        if (summary.repeats.has(line)) continue
        const {backend, mapped} = choose(user, tag)
        placed.set(backend.id, (placed.get(backend.id) ?? 0) + 1)
        const shard = shardOf(user)
        const byTag = tally.get(shard) ?? new Map()
        const entry = byTag.get(tag) ?? {backends: new Map<number, number>(), mapped: new Map<number, number>(), users: []}
        entry.backends.set(backend.id, (entry.backends.get(backend.id) ?? 0) + 1)
        if (mapped !== undefined) {
          const mappedId = synced.byIp.get(mapped)?.id
          if (mappedId !== undefined) entry.mapped.set(mappedId, (entry.mapped.get(mappedId) ?? 0) + 1)
        }

        if (entry.users.length < SAMPLE_USERS) entry.users.push(user)
        byTag.set(tag, entry)
        tally.set(shard, byTag)
        progress.update(++done)
      }

      const conflicts: ShardConflict[] = []
      const decisions: [number, number][] = []
      let changing = 0
      for (const shard of [...tally.keys()].sort((a, b) => a - b)) {
        const byTag = tally.get(shard)!
        const size = (tag: string) => [...byTag.get(tag)!.backends.values()].reduce((a, b) => a + b, 0)
        const tags = [...byTag.keys()].sort((a, b) => size(b) - size(a) || a.localeCompare(b))
        const chosenTag = tags[0]
        if (tags.length > 1) conflicts.push({chosenTag, shard, tags: Object.fromEntries(tags.map((t) => [t, byTag.get(t)!.users]))})
        const counts = byTag.get(chosenTag)!.backends
        const chosen = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0]
        for (const [tag, entry] of byTag) for (const [id, n] of entry.backends) if (tag !== chosenTag || id !== chosen) changing += n
        for (const entry of byTag.values()) for (const [id, n] of entry.mapped) if (id !== chosen) result.changedVsMap += n
        addToPlan(shard, chosen)
        decisions.push([shard, chosen])
      }

      result.conflicts = conflicts
      result.usersChangingServer = changing
      result.rule = 'each shard goes to the backend most of its users map to, within the tag most of its users have (ties: lower backend id, then tag name)'
      if (conflicts.length > 0) {
        for (const c of conflicts.slice(0, 50)) this.warning(`shard ${c.shard} mixes tags: ${Object.entries(c.tags).map(([t, u]) => `${t || '(none)'}: ${u.join(' ')}`).join('; ')}`)
        if (flags['on-conflict'] === 'fail') {
          throw new RefusedError(`${conflicts.length} shard(s) hold users of different tags, which one backend cannot honour; nothing was written to user_backend`, [
            'Pass --on-conflict majority to place each by the tag most of its users have',
          ])
        }
      }

      for (const [shard, chosen] of decisions) await writer.add(shard, chosen)
    }

    await writer.flush()
    progress.finish()
    Object.assign(result, writer.counts)
    result.changes = writer.counts.created + writer.counts.moved
    const after = new Map(before)
    if (this.dryRun) {
      for (const [id, n] of placed) after.set(id, n)
    } else {
      for (const [id, n] of await mapping.countsByBackend()) after.set(id, n)
    }

    result.after = countsJson(after)
    if (!this.dryRun) await this.audit({changes: result.changes, placement: flags.placement, users: summary.users})
    this.out(`${this.dryRun ? 'Would import' : 'Imported'} ${summary.users} users: ${result.created} new ${mapping.keyNoun}s, ${result.moved} moved, ${result.unchanged} unchanged; backends ${synced.created} created, ${synced.updated} updated`)
    if (flags.map) this.out(`${result.changedVsMap} user(s) would be on another server than in the 2.x map`)
    if (result.usersChangingServer !== undefined) this.out(`shard mode: ${result.usersChangingServer} user(s) share a shard with users of another host and change server; ${result.conflicts?.length ?? 0} tag conflict(s)`)
    return result
  }
}
