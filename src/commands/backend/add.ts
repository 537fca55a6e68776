import {Args, Flags} from '@oclif/core'

import {BaseCommand, writeFlags} from '../../base-command.js'
import {DEFAULT_WEIGHT, normalizeHostname, normalizeTags, resolveHostIp, STATE_DOWN, STATE_UP, validateWeight} from '../../director/backends.js'
import {type BackendJson, backendJson} from '../../output/backends.js'

export default class BackendAdd extends BaseCommand<typeof BackendAdd> {
  static args = {
    hostname: Args.string({description: 'Host name the proxies hand to Dovecot as host= (or an IP address).', required: true}),
  }

  static description = `Add a backend that the proxies may route users to.

Every backend gets a hostip: the one given with --ip, or the host name resolved now (and shown). The published script sends the users of a backend without hostip to the previous request's IP, so a mix is never created. The id is chosen safely when --id is absent. A new backend is up (takes new users) unless --down.`

  static examples = [
    '<%= config.bin %> <%= command.id %> mail1.example.com --ip 192.0.2.11',
    '<%= config.bin %> <%= command.id %> mail2.example.com --ip 192.0.2.12 --weight 200 --tag gold',
    '<%= config.bin %> <%= command.id %> mail3.example.com --ip 192.0.2.13 --id 3 --down',
  ]

  static flags = {
    down: Flags.boolean({description: 'Add it in state down (no new users until backend:up).'}),
    id: Flags.integer({description: 'Backend id (default: the next free one).', min: 1}),
    ip: Flags.string({description: 'IP address the proxies connect to (default: the host name resolved now).'}),
    tag: Flags.string({description: 'Tag (as the 2.x director_tag): users of a tag only go to backends with it. Repeatable.', multiple: true}),
    weight: Flags.integer({default: DEFAULT_WEIGHT, description: 'Relative share of users, like 2.x vhosts (0: none).', min: 0}),
    ...writeFlags,
  }

  async run(): Promise<BackendJson> {
    const {flags} = this
    const hostname = normalizeHostname(this.args.hostname)
    const hostip = await resolveHostIp(hostname, flags.ip)
    if (!flags.ip && hostip !== hostname) this.note(`${hostname} resolves to ${hostip}; using that as hostip`)
    const input = {
      hostip,
      hostname,
      id: flags.id,
      state: flags.down ? STATE_DOWN : STATE_UP,
      tags: normalizeTags(flags.tag ?? []),
      weight: validateWeight(flags.weight),
    }

    const session = await this.writeSession()
    if (this.dryRun) {
      this.out(`Would add backend ${hostname} (${hostip}), weight ${input.weight}, ${flags.down ? 'down' : 'up'}`)
      return backendJson({...input, downBy: null, id: input.id ?? 0, stateChangedAt: null}, 0, {assigned: 0, upWeight: 0})
    }

    const backend = await session.backends.add(input)
    await this.audit({backend: backend.id, hostip, hostname})
    this.out(`Added backend ${backend.id}: ${backend.hostname} (${backend.hostip}), weight ${backend.weight}, ${backend.state === 0 ? 'up' : 'down'}`)
    return backendJson(backend, 0, {assigned: 0, upWeight: 0})
  }
}
