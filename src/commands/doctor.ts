import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type Finding, runDoctor, type Severity, worst} from '../director/doctor.js'
import {DatabaseError} from '../errors.js'
import {openDatabase} from '../session.js'

export interface DoctorResult {
  status: Severity | 'UNKNOWN'
  exit: number
  mode?: string
  database?: string
  findings: Finding[]
}

const EXIT: Record<DoctorResult['status'], number> = {CRITICAL: 2, OK: 0, UNKNOWN: 3, WARNING: 1}

export default class Doctor extends BaseCommand<typeof Doctor> {
  static description = `Check the database for the hazards of the published Lua director scripts. Read-only.

Reports, one finding per line: missing state column (shard schemas from the documentation), direct mode on PostgreSQL, users or shards with several rows, rows pointing at missing backends, no backend up, backends without hostip next to ones with it, a missing UNIQUE index, user names Dovecot's lowercasing would never match, unfilled shards, backends far from their weight share, a stale run lock.

Exit codes as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (cannot connect).`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    imbalance: Flags.string({default: '0.1', description: 'Report backends further than this fraction from their weight target.'}),
  }

  async run(): Promise<DoctorResult> {
    const conn = this.track(await openDatabase(this.settings))
    let result: DoctorResult
    try {
      const {findings, mode} = await runDoctor(conn, {imbalance: Number(this.flags.imbalance), lowercase: this.settings.lowercase})
      const status = worst(findings)
      result = {database: conn.description, exit: EXIT[status], findings, mode, status}
    } catch (error) {
      if (!(error instanceof DatabaseError)) throw error
      const finding: Finding = {check: 'schema', hint: error.suggestions[0], message: error.message, severity: 'CRITICAL'}
      result = {database: conn.description, exit: 2, findings: [finding], status: 'CRITICAL'}
    }

    const counts = (s: Severity) => result.findings.filter((f) => f.severity === s).length
    this.out(`DIRECTORCTL ${result.status} - ${result.findings.length === 0 ? `no problems found in ${conn.description}` : `${counts('CRITICAL')} critical, ${counts('WARNING')} warning`}`)
    for (const f of result.findings) this.out(`${f.severity} ${f.check}: ${f.message}${f.hint ? ` (fix: ${f.hint})` : ''}`)
    process.exitCode = result.exit
    return result
  }

  /** Nagios: anything that stops the check itself is UNKNOWN (3). */
  protected async catch(error: Error): Promise<unknown> {
    const failure = this.failure(error)
    const message = this.redact(failure.message)
    process.exitCode = 3
    if (this.jsonEnabled()) {
      this.logJson({exit: 3, findings: [{check: 'connect', message, severity: 'UNKNOWN'}], status: 'UNKNOWN'})
    } else {
      process.stdout.write(`DIRECTORCTL UNKNOWN - ${message}\n`)
    }

    return undefined
  }
}
