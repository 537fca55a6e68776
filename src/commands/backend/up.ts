import {BackendStateCommand} from '../../backend-state.js'

export default class BackendUp extends BackendStateCommand {
  static description = 'Set a backend up (state 0): the proxies may assign it new users again.'
  static examples = ['<%= config.bin %> <%= command.id %> mail1.example.com']
  protected readonly up = true
}
