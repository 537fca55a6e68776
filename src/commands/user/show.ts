import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {routeOfUser, type UserRoute} from '../../director/route.js'
import {NotFoundError} from '../../errors.js'

export default class UserShow extends BaseCommand<typeof UserShow> {
  static args = {user: Args.string({description: 'User name (lowercased unless --no-lowercase).', required: true})}
  static description = `Show where a user's logins go: the backend, and in shard mode the user's shard.

Exit 3 when nothing is stored for the user (or its shard): the proxies would assign one at random on the next login.`

  static examples = ['<%= config.bin %> <%= command.id %> alice@example.com', '<%= config.bin %> <%= command.id %> alice@example.com --json']

  async run(): Promise<UserRoute> {
    const session = await this.session()
    const user = this.user(this.args.user)
    const {key, route} = await routeOfUser(session, user)
    const where = session.mode === 'shard' ? `${user} (shard ${key})` : user
    if (!route) {
      throw new NotFoundError(`${where} is not assigned; the proxies will pick a random up backend at the next login`, [
        `Assign it with: directorctl user:assign ${user} BACKEND`,
      ])
    }

    if (route.backend) {
      const b = route.backend
      this.out(`${where} -> backend ${b.id} ${b.hostname} (${b.hostip ?? 'no hostip'})${b.state === 0 ? '' : ', down'}`)
    } else {
      this.warning(`${where} points at backend id ${(await session.mapping.routesOf([key])).get(key)}, which does not exist: its logins fail`)
    }

    if (route.rows) this.warning(`${where} has ${route.rows.length} rows (backends ${route.rows.join(', ')}); the proxies route by the last. Fix with: directorctl user:assign or schema:upgrade --resolve-duplicates current`)
    return route
  }
}
