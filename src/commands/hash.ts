import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {director2Hash, shardCrc, shardOf} from '../director/hash.js'
import {formatTable} from '../output/table.js'

export interface HashRow {
  user: string
  shard: number
  crc32: number
  director2Hash: number
}

export default class Hash extends BaseCommand<typeof Hash> {
  static args = {
    user: Args.string({description: 'User names (lowercased first unless --no-lowercase).', required: true}),
  }

  static description = `Show the shard of each user name, as director-shard.lua computes it, and the Dovecot 2.x director's user hash.

The shard is crc32(seed 120254, name) & 0xffff; the 2.x hash is the first 4 bytes of MD5 of the lowercased name. Needs no database.`

  static examples = [
    '<%= config.bin %> <%= command.id %> alice@example.com',
    '<%= config.bin %> <%= command.id %> Alice@Example.com bob@example.com --json',
  ]

  static strict = false

  async run(): Promise<HashRow[]> {
    const {argv} = await this.parse(Hash)
    const rows = (argv as string[]).map((name) => {
      const user = this.user(name)
      return {crc32: shardCrc(user), director2Hash: director2Hash(user), shard: shardOf(user), user}
    })
    this.out(formatTable(rows, [
      {get: (r) => r.user, header: 'USER'},
      {align: 'right', get: (r) => r.shard, header: 'SHARD'},
      {align: 'right', get: (r) => r.director2Hash, header: 'DIRECTOR2 HASH'},
    ]))
    return rows
  }
}
