import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {backendRef, type BackendRef} from '../../director/route.js'
import {InputError, NotFoundError} from '../../errors.js'

export interface ShardShowResult {
  shard: number
  backend: BackendRef | null
  rows: number[]
}

export default class ShardShow extends BaseCommand<typeof ShardShow> {
  static args = {shard: Args.string({description: 'Shard number, 0-65535 (see: directorctl hash USER).', required: true})}
  static description = 'Show which backend a shard goes to. Exit 3 when the shard is unfilled.'
  static examples = ['<%= config.bin %> <%= command.id %> 20926']

  async run(): Promise<ShardShowResult> {
    const session = await this.session()
    if (session.mode !== 'shard') throw new InputError('shard:show is for shard mode; this database is in direct mode')
    const shard = session.mapping.parseKey(this.args.shard) as number
    const rows = await session.mapping.rowsOf(shard)
    const routes = await session.mapping.routesOf([shard])
    if (!routes.has(shard)) throw new NotFoundError(`Shard ${shard} is unfilled: the proxies assign it at random on its first login`, ['Fill every shard with: directorctl shard:fill'])
    const backend = (await session.backends.list()).find((b) => b.id === routes.get(shard))
    this.out(backend ? `shard ${shard} -> backend ${backend.id} ${backend.hostname} (${backend.hostip ?? 'no hostip'})` : `shard ${shard} -> backend id ${routes.get(shard)}, which does not exist`)
    return {backend: backend ? backendRef(backend) : null, rows, shard}
  }
}
