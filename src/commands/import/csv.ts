import {readFileSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import {normalizeHostname, normalizeIp, normalizeTags, validateWeight} from '../../director/backends.js'
import {asciiLowercase} from '../../director/hash.js'
import type {Key} from '../../director/mapping.js'
import {userNameProblem} from '../../director/user.js'
import {DirectorError, InputError} from '../../errors.js'
import {BulkWriter} from '../../importers/bulk.js'
import type {ExportBackend} from '../../importers/exchange.js'
import {fieldsOf, LineErrors, readLines} from '../../importers/lines.js'
import {countsJson} from '../../plan/placement.js'

export interface ImportCsvResult {
  dryRun: boolean
  backends: {created: number; updated: number}
  mappings: number
  changes: number
  created: number
  moved: number
  unchanged: number
  before: Record<string, number>
  after: Record<string, number>
}

export default class ImportCsv extends BaseCommand<typeof ImportCsv> {
  static args = {file: Args.string({description: 'A file written by `directorctl export` (CSV or JSON), or "user,backend" lines.', required: true})}
  static description = `Import backends and mappings written by \`directorctl export\` (CSV or JSON) into an identical database; plain "user,backend" lines (backend by id or hostname) are accepted too.

The whole file is validated first (line numbers; nothing written on error). Backends are created with their ids or updated; mappings are written in batches that each commit, so a killed import run again finishes the job.`

  static examples = ['<%= config.bin %> <%= command.id %> director.csv --yes', '<%= config.bin %> <%= command.id %> director.json --dry-run']
  static flags = {
    'batch-size': Flags.integer({default: 5000, description: 'Rows per transaction.', min: 1}),
    ...writeFlags,
  }

  async run(): Promise<ImportCsvResult> {
    const file = this.args.file
    const session = await this.writeSession()
    const {mapping} = session
    const existing = await session.backends.list()
    const errors = new LineErrors(file)
    const backends = new Map<number, ExportBackend>()
    const names = new Map<string, number>(existing.map((b) => [b.hostname, b.id]))
    for (const b of existing) names.set(String(b.id), b.id)

    // Pass 1: validate everything, remember the backends (few); mappings are streamed twice.
    let json: {mode?: string; backends?: ExportBackend[]; mappings?: [Key, number][]} | undefined
    const head = readFileSync(file, {encoding: 'utf8', flag: 'r'}).slice(0, 1).trim()
    if (head === '{') {
      try {
        json = JSON.parse(readFileSync(file, 'utf8'))
      } catch {
        throw new InputError(`${file}:1: not valid JSON (truncated?)`)
      }

      if (json!.mode && json!.mode !== session.mode) throw new InputError(`${file} is a ${json!.mode}-mode export; this database is in ${session.mode} mode`)
      for (const b of json!.backends ?? []) this.checkBackend(b, 1, errors, backends, names)
    }

    const mappings = async function* (this: ImportCsv, validate: boolean): AsyncGenerator<[Key, number]> {
      if (json) {
        for (const [key, backend] of json.mappings ?? []) {
          if (validate && !names.has(String(backend))) errors.add(1, `mapping of ${key} names backend ${backend}, which is in neither the file nor the database`)
          yield [mapping.mode === 'shard' ? Number(key) : String(key), Number(backend)]
        }

        return
      }

      for await (const {number, text} of readLines(file)) {
        if (text.trim() === '') continue
        if (text.startsWith('#')) {
          const mode = /mode=(\w+)/.exec(text)?.[1]
          if (validate && mode && mode !== session.mode) throw new InputError(`${file}:${number}: a ${mode}-mode export; this database is in ${session.mode} mode`)
          continue
        }

        const fields = fieldsOf(text, number, validate ? errors : undefined)
        if (!fields) continue

        if (fields[0] === 'backend') {
          if (validate) {
            if (fields.length !== 7) errors.add(number, `a backend line has 7 fields, found ${fields.length}`)
            else this.checkBackend({hostip: fields[3] || null, hostname: fields[2], id: Number(fields[1]), state: Number(fields[4]), tags: fields[6] ? fields[6].split(' ') : [], weight: Number(fields[5])}, number, errors, backends, names)
          }

          continue
        }

        const [keyText, backendText] = fields[0] === 'mapping' ? [fields[1], fields[2]] : [fields[0], fields[1]]
        if ((fields[0] === 'mapping' && fields.length !== 3) || (fields[0] !== 'mapping' && fields.length !== 2)) {
          if (validate) errors.add(number, 'expected "mapping,KEY,BACKEND_ID" or "user,backend"')
          continue
        }

        let key: Key
        if (mapping.mode === 'shard' && fields[0] === 'mapping') {
          if (!/^\d+$/.test(keyText) || Number(keyText) > 65_535) {
            if (validate) errors.add(number, `shard ${JSON.stringify(keyText)} is not 0-65535`)
            continue
          }

          key = Number(keyText)
        } else {
          const problem = userNameProblem(keyText)
          if (problem) {
            if (validate) errors.add(number, problem)
            continue
          }

          const user = fields[0] === 'mapping' || !this.settings.lowercase ? keyText : asciiLowercase(keyText)
          key = mapping.keyOf(user)
        }

        const id = names.get(backendText.trim().toLowerCase()) ?? names.get(backendText.trim())
        if (id === undefined) {
          if (validate) errors.add(number, `no backend ${JSON.stringify(backendText)} in the file or the database`)
          continue
        }

        yield [key, id]
      }
    }.bind(this)

    let total = 0
    for await (const _ of mappings(true)) total++
    errors.throwIfAny()

    const before = await mapping.countsByBackend()
    const result: ImportCsvResult = {after: {}, backends: {created: 0, updated: 0}, before: countsJson(before), changes: 0, created: 0, dryRun: this.dryRun, mappings: total, moved: 0, unchanged: 0}
    for (const b of backends.values()) {
      const have = existing.find((e) => e.id === b.id)
      if (!have) {
        result.backends.created++
        if (!this.dryRun) await session.backends.add({hostip: b.hostip ?? b.hostname, hostname: b.hostname, id: b.id, state: b.state, tags: b.tags, weight: b.weight})
        continue
      }

      if (have.hostname === b.hostname && have.hostip === b.hostip && have.weight === b.weight && have.tags.join(',') === b.tags.join(',') && have.state === b.state) continue
      result.backends.updated++
      if (this.dryRun) continue
      await session.backends.update(b.id, {hostip: b.hostip ?? undefined, hostname: b.hostname, tags: b.tags, weight: b.weight})
      if ((have.state === 0) !== (b.state === 0)) await session.backends.setState(b.id, b.state === 0)
    }

    const writer = new BulkWriter(mapping, {batchSize: this.flags['batch-size'], dryRun: this.dryRun})
    for await (const [key, id] of mappings(false)) await writer.add(key, id)
    await writer.flush()
    Object.assign(result, writer.counts)
    result.changes = writer.counts.created + writer.counts.moved
    result.after = countsJson(this.dryRun ? before : await mapping.countsByBackend())
    await this.audit({backends: result.backends, changes: result.changes, file})
    this.out(`${this.dryRun ? 'Would import' : 'Imported'} ${total} mappings (${result.created} new, ${result.moved} moved, ${result.unchanged} unchanged); backends ${result.backends.created} created, ${result.backends.updated} updated`)
    return result
  }

  private checkBackend(b: ExportBackend, line: number, errors: LineErrors, backends: Map<number, ExportBackend>, names: Map<string, number>): void {
    try {
      if (!Number.isInteger(b.id) || b.id < 1) throw new InputError(`backend id ${b.id} is not a positive whole number`)
      const clean: ExportBackend = {
        hostip: b.hostip ? normalizeIp(b.hostip) : null,
        hostname: normalizeHostname(b.hostname),
        id: b.id,
        state: Number.isInteger(b.state) ? b.state : 0,
        tags: normalizeTags(b.tags ?? []),
        weight: validateWeight(b.weight),
      }
      backends.set(clean.id, clean)
      names.set(clean.hostname, clean.id)
      names.set(String(clean.id), clean.id)
    } catch (error) {
      errors.add(line, error instanceof DirectorError ? error.message : String(error))
    }
  }
}
