import {Args, Flags} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import {asciiLowercase, shardOf} from '../../director/hash.js'
import {InputError} from '../../errors.js'
import {BulkWriter} from '../../importers/bulk.js'
import {parseMap} from '../../importers/director2x.js'
import {readTextFile} from '../../importers/lines.js'
import {countsJson} from '../../plan/placement.js'

export interface ImportMapResult {
  dryRun: boolean
  users: number
  changes: number
  created: number
  moved: number
  unchanged: number
  usersChangingServer?: number
  before: Record<string, number>
  after: Record<string, number>
}

export default class ImportDirectorMap extends BaseCommand<typeof ImportDirectorMap> {
  static args = {file: Args.string({description: '`doveadm director map` output (text, -f tab or -f json).', required: true})}
  static description = `Import the current placement from a Dovecot 2.x director: every user in \`doveadm director map\` is assigned to the backend whose hostip is the 2.x host's IP.

The backends must exist (import:director-tag or backend:add creates them). In shard mode each user's shard goes to the host most of its users in the map have (ties: lower backend id).`

  static examples = ['<%= config.bin %> <%= command.id %> map.txt --dry-run', '<%= config.bin %> <%= command.id %> map.json --yes']
  static flags = {
    'batch-size': Flags.integer({default: 5000, description: 'Rows per transaction.', min: 1}),
    ...writeFlags,
  }

  async run(): Promise<ImportMapResult> {
    const entries = parseMap(readTextFile(this.args.file), this.args.file)
    const session = await this.writeSession()
    const backends = await session.backends.list()
    const byIp = new Map(backends.filter((b) => b.hostip).map((b) => [b.hostip!, b.id]))
    const unknown = entries.filter((e) => !byIp.has(e.ip))
    if (unknown.length > 0) {
      throw new InputError(`${unknown.length} line(s) name a host that is no backend's hostip; nothing was changed:\n${unknown.slice(0, 20).map((e) => `${this.args.file}:${e.line}: ${e.ip}`).join('\n')}`, [
        'Create the backends first: directorctl import:director-tag, or backend:add IP --ip IP',
      ])
    }

    const before = await session.mapping.countsByBackend()
    const writer = new BulkWriter(session.mapping, {batchSize: this.flags['batch-size'], dryRun: this.dryRun})
    const result: ImportMapResult = {after: {}, before: countsJson(before), changes: 0, created: 0, dryRun: this.dryRun, moved: 0, unchanged: 0, users: entries.length}
    const user = (name: string) => (this.settings.lowercase ? asciiLowercase(name) : name)
    if (session.mode === 'direct') {
      for (const e of entries) await writer.add(user(e.user), byIp.get(e.ip)!)
    } else {
      const votes = new Map<number, Map<number, number>>()
      for (const e of entries) {
        const shard = shardOf(user(e.user))
        const v = votes.get(shard) ?? new Map<number, number>()
        v.set(byIp.get(e.ip)!, (v.get(byIp.get(e.ip)!) ?? 0) + 1)
        votes.set(shard, v)
      }

      result.usersChangingServer = 0
      for (const [shard, v] of [...votes].sort((a, b) => a[0] - b[0])) {
        const [chosen] = [...v].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]
        for (const [id, n] of v) if (id !== chosen) result.usersChangingServer += n
        await writer.add(shard, chosen)
      }
    }

    await writer.flush()
    Object.assign(result, writer.counts)
    result.changes = writer.counts.created + writer.counts.moved
    result.after = countsJson(this.dryRun ? before : await session.mapping.countsByBackend())
    await this.audit({changes: result.changes, users: result.users})
    this.out(`${this.dryRun ? 'Would import' : 'Imported'} ${entries.length} users: ${result.created} new, ${result.moved} moved, ${result.unchanged} unchanged${result.usersChangingServer ? `; ${result.usersChangingServer} change server (their shard goes with its majority)` : ''}`)
    return result
  }
}
