import {backendArg, BaseCommand} from '../../base-command.js'
import {type BackendJson, backendView, stateName} from '../../output/backends.js'

export default class BackendShow extends BaseCommand<typeof BackendShow> {
  static args = {backend: backendArg()}
  static description = 'Show one backend: address, state, weight, tags and how many users or shards it has.'
  static examples = ['<%= config.bin %> <%= command.id %> mail1.example.com', '<%= config.bin %> <%= command.id %> 3 --json']

  async run(): Promise<BackendJson> {
    const session = await this.session()
    const backend = await session.backends.find(this.args.backend)
    const shown = await backendView(session, backend.id)
    const noun = session.mapping.keyNoun
    this.out([
      `id:        ${shown.id}`,
      `hostname:  ${shown.hostname}`,
      `hostip:    ${shown.hostip ?? '-'}`,
      `state:     ${shown.state} (${stateName(shown.state, shown.downBy)})`,
      `weight:    ${shown.weight}`,
      `tags:      ${shown.tags.join(', ') || '-'}`,
      `${noun}s:${' '.repeat(Math.max(1, 10 - noun.length - 2))}${shown.assigned} (${(shown.share * 100).toFixed(1)}% of all)`,
    ].join('\n'))
    return shown
  }
}
