import {Flags} from '@oclif/core'

import {RunLock} from '../../db/lock.js'
import {TABLES} from '../../db/schema.js'
import {type Backend} from '../../director/backends.js'
import {recordHistory} from '../../director/history.js'
import {DEFAULT_PORTS, parseDuration, type Protocol, probeWithRetries} from '../../director/probe.js'
import {InputError} from '../../errors.js'
import {formatTable} from '../../output/table.js'
import {type PlanDocument, PlanCommand, planFlags} from '../../plan-command.js'
import {prepareForWrites} from '../../session.js'

export interface CheckRow {
  id: number
  hostname: string
  hostip: string | null
  ok: boolean
  detail: string
  ms: number
  failures: number
  successes: number
  state: number
  action: 'none' | 'set-down' | 'set-up' | 'drained' | 'would-set-down' | 'would-set-up'
}

export default class BackendCheck extends PlanCommand<typeof BackendCheck> {
  static description = `Probe every backend's IMAP (or POP3, LMTP) port on its hostip and read the greeting; for cron, like poolmon for the 2.x director.

Consecutive results are kept in the database. With --set-state, a backend that failed --fall checks in a row is set down (no new users), and set up again after --rise good checks in a row, but only if this check set it down: a backend an operator set down stays down. State changes are printed and recorded in history. --drain-after moves the users of a backend that has been down by check for that long. Two checks at once (cron overlap) do not interleave: the second exits 5.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --set-state --fall 3 --rise 2',
    '<%= config.bin %> <%= command.id %> --set-state --protocol lmtp --port 24 --drain-after 30m --yes',
  ]

  static flags = {
    'drain-after': Flags.string({description: 'With --set-state: drain a backend that has been down by check for this long (e.g. 30m, 2h).'}),
    fall: Flags.integer({default: 3, description: 'Failed checks in a row before a backend is set down.', min: 1}),
    port: Flags.integer({description: 'Port to probe (default: 143 imap, 110 pop3, 24 lmtp).', max: 65_535, min: 1}),
    protocol: Flags.option({default: 'imap' as const, description: 'Greeting to expect.', options: ['imap', 'pop3', 'lmtp'] as const})(),
    retries: Flags.integer({default: 1, description: 'Extra attempts within one check before it counts as failed.', min: 0}),
    rise: Flags.integer({default: 2, description: 'Good checks in a row before a backend this check set down is set up again.', min: 1}),
    'set-state': Flags.boolean({description: 'Set failing backends down and recovered ones up (only those this check set down).'}),
    timeout: Flags.integer({default: 5000, description: 'Milliseconds to wait for a greeting.', min: 1}),
    ...planFlags,
  }

  async run(): Promise<{backends: CheckRow[]; drained: PlanDocument[]}> {
    const {flags} = this
    const drainAfter = flags['drain-after'] ? this.duration(flags['drain-after']) : undefined
    if (drainAfter !== undefined && !flags['set-state']) throw new InputError('--drain-after needs --set-state')
    const session = await this.session()
    await prepareForWrites(session)
    const {knex, dialect} = session.conn
    // Its own lock: a long rebalance must not stop health checks, but two checks must not interleave.
    const lock = await RunLock.acquire(knex, dialect, {holder: `${process.env.USER ?? 'unknown'} running backend:check`, name: 'backend-check', waitMs: flags['lock-wait'] * 1000})
    try {
      const port = flags.port ?? DEFAULT_PORTS[flags.protocol as Protocol]
      const backends = await session.backends.list()
      const rows = await Promise.all(backends.map((b) => this.checkOne(b, port)))
      const drained: PlanDocument[] = []
      for (const row of rows) {
        const backend = backends.find((b) => b.id === row.id)!
        if (drainAfter === undefined || row.ok || row.state === 0 || backend.downBy !== 'check') continue
        if (Date.now() - (backend.stateChangedAt ?? Date.now()) < drainAfter) continue
        if ((await session.mapping.countFor(backend.id)) === 0) continue
        this.note(`backend ${backend.hostname} has been down for over ${flags['drain-after']}: draining it`)
        await this.writeSession()
        drained.push(await this.drain(session, backend))
        row.action = 'drained'
      }

      this.out(formatTable(rows, [
        {align: 'right', get: (r) => r.id, header: 'ID'},
        {get: (r) => r.hostname, header: 'HOSTNAME'},
        {get: (r) => r.hostip, header: 'HOSTIP'},
        {get: (r) => (r.ok ? 'ok' : 'FAIL'), header: 'CHECK'},
        {get: (r) => r.detail, header: 'DETAIL'},
        {align: 'right', get: (r) => (r.ok ? r.successes : r.failures), header: 'IN A ROW'},
        {get: (r) => (r.state === 0 ? 'up' : 'down'), header: 'STATE'},
        {get: (r) => (r.action === 'none' ? '' : r.action), header: 'ACTION'},
      ]))
      return {backends: rows, drained}
    } finally {
      await lock.release()
    }
  }

  private duration(text: string): number {
    try {
      return parseDuration(text)
    } catch (error) {
      throw new InputError((error as Error).message)
    }
  }

  private async checkOne(backend: Backend, port: number): Promise<CheckRow> {
    const {flags} = this
    const session = await this.session()
    const {knex} = session.conn
    const result = backend.hostip
      ? await probeWithRetries(backend.hostip, port, flags.protocol as Protocol, flags.timeout, flags.retries)
      : {detail: 'no hostip', ms: 0, ok: false}
    // Counters move atomically in SQL; the row exists for every backend the tool added.
    await knex(TABLES.backendMeta).insert({backend_id: backend.id, tags: '', weight: backend.weight}).onConflict('backend_id').ignore()
    await knex(TABLES.backendMeta).where('backend_id', backend.id).update(result.ok
      ? {check_error: null, check_failures: 0, check_successes: knex.raw('check_successes + 1')}
      : {check_error: result.detail.slice(0, 255), check_failures: knex.raw('check_failures + 1'), check_successes: 0})
    const counters = await knex(TABLES.backendMeta).where('backend_id', backend.id).first('check_failures', 'check_successes')
    const row: CheckRow = {
      action: 'none',
      detail: result.detail,
      failures: Number(counters.check_failures),
      hostip: backend.hostip,
      hostname: backend.hostname,
      id: backend.id,
      ms: result.ms,
      ok: result.ok,
      state: backend.state,
      successes: Number(counters.check_successes),
    }

    const fell = !result.ok && backend.state === 0 && row.failures >= flags.fall
    const rose = result.ok && backend.state !== 0 && backend.downBy === 'check' && row.successes >= flags.rise
    if (!fell && !rose) return row
    if (!flags['set-state'] || this.dryRun) {
      row.action = fell ? 'would-set-down' : 'would-set-up'
      return row
    }

    await session.backends.setState(backend.id, rose, 'check')
    row.state = rose ? 0 : 1
    row.action = rose ? 'set-up' : 'set-down'
    const message = rose
      ? `backend ${backend.hostname} (${backend.hostip}) answers again after ${row.successes} good checks: set up`
      : `backend ${backend.hostname} (${backend.hostip}) failed ${row.failures} checks in a row (${result.detail}): set down`
    this.warning(message)
    await recordHistory(knex, 'backend:check', {action: row.action, backend: backend.id, detail: result.detail})
    return row
  }
}
