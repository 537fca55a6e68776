import {createWriteStream, renameSync} from 'node:fs'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import type {Key} from '../director/mapping.js'
import {InputError} from '../errors.js'
import {csvBackend, csvHeader, csvMapping} from '../importers/exchange.js'

export default class Export extends BaseCommand<typeof Export> {
  static description = `Export backends and mappings, as CSV (default) or JSON, for backups or moving to another database. import:csv reads it back into an identical database.

Streams the mappings, so memory stays flat on large tables. --output writes to a file atomically.`

  static examples = ['<%= config.bin %> <%= command.id %> --output director.csv', '<%= config.bin %> <%= command.id %> --format json > director.json']
  static flags = {
    format: Flags.option({default: 'csv' as const, description: 'Output format (--json is the same as --format json).', options: ['csv', 'json'] as const})(),
    output: Flags.string({char: 'o', description: 'File to write (default: stdout).'}),
  }

  async run(): Promise<void> {
    const session = await this.session()
    const target = this.flags.output ? path.resolve(this.flags.output) : undefined
    const temp = target ? path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`) : undefined
    const out: Writable = temp ? createWriteStream(temp, {mode: 0o600}) : process.stdout
    const write = (text: string) => new Promise<void>((resolve, reject) => (out.write(text) ? resolve() : out.once('drain', resolve).once('error', reject)))
    const json = this.flags.format === 'json' || this.jsonEnabled()
    const backends = (await session.backends.list()).map((b) => ({hostip: b.hostip, hostname: b.hostname, id: b.id, state: b.state, tags: b.tags, weight: b.weight}))
    await write(json ? `{"mode":${JSON.stringify(session.mode)},"backends":${JSON.stringify(backends)},"mappings":[` : `${csvHeader(session.mode)}\n${backends.map((b) => csvBackend(b)).join('\n')}${backends.length ? '\n' : ''}`)
    let after: Key | undefined
    let first = true
    let count = 0
    for (;;) {
      const page = await session.mapping.page({after, limit: 10_000})
      if (page.length === 0) break
      const text = json
        ? page.map((r) => `${first && r === page[0] ? '' : ','}\n${JSON.stringify([r.key, r.backendId])}`).join('')
        : `${page.map((r) => csvMapping(r.key, r.backendId)).join('\n')}\n`
      await write(text)
      first = false
      count += page.length
      after = page.at(-1)!.key
    }

    if (json) await write('\n]}\n')
    if (temp && target) {
      await new Promise<void>((resolve, reject) => out.end(() => resolve()).once('error', reject))
      try {
        renameSync(temp, target)
      } catch (error) {
        throw new InputError(`Cannot write ${target}: ${(error as NodeJS.ErrnoException).code}`)
      }

      this.note(`exported ${backends.length} backends and ${count} ${session.mapping.keyNoun} mappings to ${target}`)
    }
  }
}
