import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {asciiLowercase} from '../../director/hash.js'
import type {Key} from '../../director/mapping.js'
import {userNameProblem} from '../../director/user.js'
import {InputError} from '../../errors.js'
import {LineErrors, readLines} from '../../importers/lines.js'

export interface UserListRow {
  user: string
  shard?: number
  backend: number | null
  hostname: string | null
}

const PAGE = 5000

export default class UserList extends BaseCommand<typeof UserList> {
  static description = `List users and their backends (direct mode).

Shard mode stores shards, not user names, so there is nothing to list: pass --users-file with one user name per line to see each user's shard and backend, or see shard:list for shards per backend.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --backend mail1.example.com --json',
    '<%= config.bin %> <%= command.id %> --users-file users.txt',
  ]

  static flags = {
    backend: Flags.string({description: 'Only users of this backend (id or hostname).'}),
    limit: Flags.integer({description: 'At most this many users.', min: 1}),
    'users-file': Flags.string({description: 'File of user names (one per line, first column of CSV/TSV): show where each goes.'}),
  }

  async run(): Promise<UserListRow[]> {
    const session = await this.session()
    const backends = new Map((await session.backends.list()).map((b) => [b.id, b]))
    const only = this.flags.backend ? (await session.backends.find(this.flags.backend)).id : undefined
    const rows: UserListRow[] = []
    const emit = (row: UserListRow) => {
      rows.push(row)
      this.out(`${row.user}\t${row.shard === undefined ? '' : `${row.shard}\t`}${row.backend ?? '-'}\t${row.hostname ?? '(no backend)'}`)
    }

    if (this.flags['users-file']) {
      const named = await this.fromFile(this.flags['users-file'], session.mapping.keyOf.bind(session.mapping), session.mode === 'shard')
      const routes = await session.mapping.routesOf(named.map((r) => r.key))
      for (const row of named) {
        const bid = routes.get(row.key) ?? null
        if (only !== undefined && bid !== only) continue
        emit({backend: bid, hostname: bid === null ? null : (backends.get(bid)?.hostname ?? null), shard: row.shard, user: row.user})
        if (this.flags.limit && rows.length >= this.flags.limit) break
      }

      return rows
    }

    if (session.mode === 'shard') {
      this.note('Shard mode stores shards, not user names, so users cannot be listed from the database.')
      this.note('Pass --users-file FILE (one user name per line) to see where each of them goes, or run: directorctl shard:list')
      return rows
    }

    let after: Key | undefined
    for (;;) {
      const page = await session.mapping.page({after, backendId: only, limit: PAGE})
      for (const r of page) {
        emit({backend: r.backendId, hostname: backends.get(r.backendId)?.hostname ?? null, user: String(r.key)})
        if (this.flags.limit && rows.length >= this.flags.limit) return rows
      }

      if (page.length < PAGE) break
      after = page.at(-1)!.key
    }

    return rows
  }

  private async fromFile(file: string, keyOf: (user: string) => Key, shard: boolean): Promise<{user: string; key: Key; shard?: number}[]> {
    const errors = new LineErrors(file)
    const users: {user: string; key: Key; shard?: number}[] = []
    for await (const {number, text} of readLines(file)) {
      const name = text.split(/[\t,]/)[0].trim()
      if (!name || name.startsWith('#')) continue
      const problem = userNameProblem(name)
      if (problem) {
        errors.add(number, problem)
        continue
      }

      const user = this.settings.lowercase ? asciiLowercase(name) : name
      const key = keyOf(user)
      users.push({key, shard: shard ? (key as number) : undefined, user})
    }

    errors.throwIfAny()
    if (users.length === 0) throw new InputError(`${file} has no user names`)
    return users
  }
}
