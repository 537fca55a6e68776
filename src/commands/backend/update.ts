import {Flags} from '@oclif/core'

import {backendArg, BaseCommand, writeFlags} from '../../base-command.js'
import type {BackendChanges} from '../../director/backends.js'
import {InputError} from '../../errors.js'
import {type BackendJson, backendView} from '../../output/backends.js'

export default class BackendUpdate extends BaseCommand<typeof BackendUpdate> {
  static args = {backend: backendArg()}
  static description = `Change a backend's hostname, IP, weight or tags. Users stay where they are; run a rebalance to act on a new weight.`
  static examples = [
    '<%= config.bin %> <%= command.id %> mail1.example.com --weight 200',
    '<%= config.bin %> <%= command.id %> 3 --ip 192.0.2.33',
    '<%= config.bin %> <%= command.id %> mail1.example.com --tag gold --tag ssd',
  ]

  static flags = {
    'clear-tags': Flags.boolean({description: 'Remove every tag.', exclusive: ['tag']}),
    hostname: Flags.string({description: 'New host name.'}),
    ip: Flags.string({description: 'New IP address (hostip).'}),
    tag: Flags.string({description: 'Replace the tags with these. Repeatable.', multiple: true}),
    weight: Flags.integer({description: 'New weight (0: no share).', min: 0}),
    ...writeFlags,
  }

  async run(): Promise<BackendJson> {
    const {flags} = this
    const changes: BackendChanges = {hostip: flags.ip, hostname: flags.hostname, weight: flags.weight}
    if (flags.tag) changes.tags = flags.tag
    if (flags['clear-tags']) changes.tags = []
    if (Object.values(changes).every((v) => v === undefined)) throw new InputError('Nothing to change: give --hostname, --ip, --weight, --tag or --clear-tags')
    const session = await this.writeSession()
    const backend = await session.backends.find(this.args.backend)
    if (this.dryRun) {
      this.out(`Would update backend ${backend.id} (${backend.hostname}): ${JSON.stringify(changes)}`)
    } else {
      await session.backends.update(backend.id, changes)
      await this.audit({backend: backend.id, changes})
      this.out(`Updated backend ${backend.id}`)
    }

    return backendView(session, backend.id)
  }
}
