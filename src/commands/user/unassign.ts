import {Args} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import {routeOfUser, type UserRoute} from '../../director/route.js'
import {NotFoundError} from '../../errors.js'

export interface UserUnassignResult extends UserRoute {
  removed: number
  dryRun: boolean
}

export default class UserUnassign extends BaseCommand<typeof UserUnassign> {
  static args = {user: Args.string({description: 'User name.', required: true})}
  static description = `Remove a user's mapping (in shard mode: the user's shard's mapping, for every user in it).

At the next login the proxies assign a random up backend. Live sessions stay where they are; kick them with user:kick.`

  static examples = ['<%= config.bin %> <%= command.id %> alice@example.com --yes']
  static flags = {...writeFlags}

  async run(): Promise<UserUnassignResult> {
    const session = await this.writeSession()
    const user = this.user(this.args.user)
    const {key, route} = await routeOfUser(session, user)
    if (!route) throw new NotFoundError(`${user}${session.mode === 'shard' ? ` (shard ${key})` : ''} is not assigned`)
    const what = session.mode === 'shard' ? `shard ${key} (${user} and every other user in it)` : user
    if (this.dryRun) {
      this.out(`Would unassign ${what} from ${route.backend?.hostname ?? 'a missing backend'}`)
      return {...route, dryRun: true, removed: 0}
    }

    await this.confirm(`Unassign ${what} from ${route.backend?.hostname ?? 'a missing backend'}?`)
    const removed = await session.mapping.unassign(key)
    await this.audit({key, removed, user})
    this.out(`Unassigned ${what}`)
    return {...route, dryRun: false, removed}
  }
}
