/** backend:up and backend:down differ only in the direction. */
import {backendArg, BaseCommand, writeFlags} from './base-command.js'
import {type BackendJson, backendView} from './output/backends.js'

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
      const tail = this.up ? 'it takes new users' : `no new users; its ${await session.mapping.countFor(backend.id)} ${session.mapping.keyNoun}(s) stay until moved (backend:drain)`
      this.out(`Backend ${backend.id} (${backend.hostname}) is ${word}: ${tail}`)
    }

    return backendView(session, backend.id)
  }
}
