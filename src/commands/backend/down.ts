import {BackendStateCommand} from '../../backend-state.js'

export default class BackendDown extends BackendStateCommand {
  static description = `Set a backend down (state 1): the proxies assign it no new users.

Users already mapped to it keep being routed to it (that is how the published scripts work); move them with backend:drain.`

  static examples = ['<%= config.bin %> <%= command.id %> mail1.example.com']
  protected readonly up = false
}
