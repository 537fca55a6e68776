import {backendArg} from '../../base-command.js'
import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'

export default class BackendDrain extends PlanCommand<typeof BackendDrain> {
  static args = {backend: backendArg('Backend to empty (id or hostname).')}
  static description = `Set a backend down and move everything off it to the other up backends of its tag group, by weight, filling the most under-target first.

Only the drained backend's users or shards move. Refuses (exit 4) when no other up backend with weight > 0 could take them. Re-running after an interruption finishes the job.`

  static examples = [
    '<%= config.bin %> <%= command.id %> mail3.example.com --dry-run',
    '<%= config.bin %> <%= command.id %> mail3.example.com --yes',
    '<%= config.bin %> <%= command.id %> mail3.example.com --yes --kick --proxy http://proxy1:8080',
  ]

  static flags = {...planFlags}

  async run(): Promise<PlanDocument> {
    const session = await this.writeSession()
    return this.drain(session, await session.backends.find(this.args.backend))
  }
}
