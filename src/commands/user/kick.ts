import {Args, Flags} from '@oclif/core'

import {BaseCommand, proxyFlags} from '../../base-command.js'
import type {KickResult} from '../../doveadm/client.js'

export interface UserKickResult {
  user: string
  unassigned: number
  proxies: KickResult[]
}

export default class UserKick extends BaseCommand<typeof UserKick> {
  static args = {user: Args.string({description: 'User name.', required: true})}
  static description = `Kick a user's live sessions on every proxy, through the doveadm HTTP API.

Works with Dovecot 2.3 (proxyKick) and 2.4 (kick). Each proxy's result is shown; a proxy that cannot be reached does not stop the others, but the exit code is then 1. With --unassign the mapping is removed first, so that the next login is assigned anew.`

  static examples = [
    '<%= config.bin %> <%= command.id %> alice@example.com --proxy http://proxy1:8080 --proxy http://proxy2:8080',
    'DIRECTORCTL_DOVEADM_API_KEY=... <%= config.bin %> <%= command.id %> alice@example.com --unassign --yes',
  ]

  static flags = {
    ...proxyFlags,
    unassign: Flags.boolean({description: 'Remove the mapping first (in shard mode: the whole shard\'s).'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask before --unassign deletes the mapping.'}),
  }

  async run(): Promise<UserKickResult> {
    const user = this.user(this.args.user)
    let unassigned = 0
    if (this.flags.unassign) {
      const session = await this.writeSession()
      const key = session.mapping.keyOf(user)
      await this.confirm(`Unassign ${session.mapping.describe(key)}${session.mode === 'shard' ? ` (${user} and every other user in it)` : ''}?`)
      unassigned = await session.mapping.unassign(key)
      await this.audit({key, unassigned, user})
      this.note(unassigned > 0 ? `Unassigned ${session.mapping.describe(key)}` : `${session.mapping.describe(key)} had no mapping`)
    }

    const proxies = await this.kickUsers([user])
    if (!this.jsonEnabled()) this.out(`${user}: ${proxies.reduce((n, p) => n + p.kicked, 0)} connection(s) kicked on ${proxies.filter((p) => p.ok).length}/${proxies.length} proxies`)
    return {proxies, unassigned, user}
  }
}
