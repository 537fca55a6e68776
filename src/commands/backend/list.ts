import {BaseCommand} from '../../base-command.js'
import {type BackendJson, backendsJson, backendTable} from '../../output/backends.js'

export default class BackendList extends BaseCommand<typeof BackendList> {
  static description = `List backends: id, hostname, hostip, state, weight, tags, and the users (direct mode) or shards (shard mode) mapped to each with their share.

WEIGHT SHARE is the share of new placements a backend should get (its weight over the up backends' total).`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<BackendJson[]> {
    const session = await this.session()
    const [backends, counts] = await Promise.all([session.backends.list(), session.mapping.countsByBackend()])
    const rows = backendsJson(backends, counts)
    const known = new Set(backends.map((b) => b.id))
    const orphans = [...counts].filter(([id]) => !known.has(id)).reduce((sum, [, n]) => sum + n, 0)
    if (rows.length === 0) this.note('No backends yet. Add one with: directorctl backend:add HOSTNAME --ip IP')
    else this.out(backendTable(rows, session.mapping.keyNoun))
    if (orphans > 0) this.warning(`${orphans} ${session.mapping.keyNoun} row(s) point at backend ids that do not exist; their logins fail. See: directorctl doctor`)
    return rows
  }
}
