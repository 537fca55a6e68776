/** backend:up and backend:down differ only in the direction. */
import {backendArg, BaseCommand, writeFlags} from './base-command.js'
import {type BackendJson, backendsJson} from './output/backends.js'

export abstract class BackendStateCommand extends BaseCommand<typeof BackendStateCommand> {
  static args = {backend: backendArg()}
  static flags = {...writeFlags}
  protected abstract readonly up: boolean

  async run(): Promise<BackendJson> {
    const session = await this.writeSession()
    const backend = await session.backends.find(this.args.backend)
    const word = this.up ? 'up' : 'down'
    if (this.dryRun) {
      this.out(`Would set backend ${backend.id} (${backend.hostname}) ${word}`)
    } else {
      await session.backends.setState(backend.id, this.up, 'operator')
      await this.audit({backend: backend.id, state: word})
      const counts = await session.mapping.countsByBackend()
      const tail = this.up ? 'it takes new users' : `no new users; its ${counts.get(backend.id) ?? 0} ${session.mapping.keyNoun}(s) stay until moved (backend:drain)`
      this.out(`Backend ${backend.id} (${backend.hostname}) is ${word}: ${tail}`)
    }

    const [all, counts] = await Promise.all([session.backends.list(), session.mapping.countsByBackend()])
    return backendsJson(all, counts).find((b) => b.id === backend.id)!
  }
}
