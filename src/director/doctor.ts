/**
 * The hazards of shared/reference/lua-director.md, found in a live database. Read-only.
 */
import type {Knex} from 'knex'

import type {Connection} from '../db/connection.js'
import {isStale, RunLock} from '../db/lock.js'
import {detectMode, KEY_COLUMN, TABLES} from '../db/schema.js'
import {planRebalance} from '../plan/placement.js'
import type {Mode} from '../settings.js'
import {Backends} from './backends.js'
import {SHARD_COUNT} from './hash.js'
import {mappingFor} from './mapping.js'

export type Severity = 'OK' | 'WARNING' | 'CRITICAL'

export interface Finding {
  check: string
  severity: Severity
  message: string
  hint?: string
}

export interface DoctorOptions {
  lowercase: boolean
  /** Relative distance from the weight target that is reported (0.1: 10%). */
  imbalance: number
}

const SAMPLE = 5

async function duplicates(knex: Knex, column: string): Promise<{key: string; n: number}[]> {
  const rows = await knex(TABLES.mapping).select(column).count({n: '*'}).groupBy(column).having(knex.raw('count(*) > 1')).orderBy(column).limit(1000)
  return rows.map((r) => ({key: String((r as Record<string, unknown>)[column]), n: Number(r.n)}))
}

export async function runDoctor(conn: Connection, options: DoctorOptions): Promise<{mode: Mode; findings: Finding[]}> {
  const {knex, dialect} = conn
  const findings: Finding[] = []
  const add = (check: string, severity: Severity, message: string, hint?: string) => findings.push({check, hint, message, severity})
  const mode = await detectMode(knex)
  const column = KEY_COLUMN[mode]
  const hasState = 'state' in (await knex(TABLES.backends).columnInfo())
  const hasTool = await knex.schema.hasTable(TABLES.backendMeta)

  if (!hasState) {
    add('state-column', 'CRITICAL', 'backends has no state column: the scripts prepare "WHERE state = 0", so the proxies\' auth process fails at start-up', 'directorctl schema:upgrade')
  }

  if (dialect.engine === 'postgres' && mode === 'direct') {
    add('postgres-direct', 'WARNING', 'direct mode on PostgreSQL: the published director.lua INSERT names the reserved column user unquoted, cannot be prepared, and stops the auth process; unless your script quotes "user", every user must be assigned in advance', 'Quote "user" in the script\'s INSERT, or pre-assign every user (user:assign --file)')
  }

  const unique = (await dialect.uniqueColumns(knex, TABLES.mapping)).includes(column)
  if (!unique) add('unique-index', 'WARNING', `user_backend has no UNIQUE index on ${column}: two proxies assigning the same new ${mode === 'direct' ? 'user' : 'shard'} at once create two rows, and the scripts' retry-on-insert-failure never triggers`, 'directorctl schema:upgrade')

  const dups = await duplicates(knex, column)
  if (dups.length > 0) {
    add('duplicate-rows', 'WARNING', `${dups.length}${dups.length === 1000 ? '+' : ''} ${mode === 'direct' ? 'users' : 'shards'} have several rows (${dups.slice(0, SAMPLE).map((d) => `${d.key}: ${d.n}`).join(', ')}${dups.length > SAMPLE ? ', ...' : ''}); the proxies route by whichever row they read last`, 'directorctl schema:upgrade --resolve-duplicates current (keeps the row routed today)')
  }

  const orphans = await knex(TABLES.mapping)
    .leftJoin(TABLES.backends, `${TABLES.backends}.id`, `${TABLES.mapping}.backend_id`)
    .whereNull(`${TABLES.backends}.id`)
    .select(`${TABLES.mapping}.backend_id`)
    .count({n: '*'})
    .groupBy(`${TABLES.mapping}.backend_id`)
  if (orphans.length > 0) {
    const total = orphans.reduce((s, r) => s + Number(r.n), 0)
    add('missing-backend', 'CRITICAL', `${total} row(s) point at backend ids that do not exist (${orphans.map((r) => (r as {backend_id: number}).backend_id).join(', ')}): those logins fail`, 'Re-add the backend (backend:add --id N) or move the rows (user:assign)')
  }

  const backends = await new Backends(knex, dialect, {hasMeta: hasTool, hasState}).list()
  if (backends.length === 0) {
    add('no-backend', 'CRITICAL', 'there are no backends: every login fails', 'directorctl backend:add HOSTNAME --ip IP')
  } else if (!backends.some((b) => b.state === 0)) {
    add('no-up-backend', 'CRITICAL', 'no backend is in state 0: new users cannot be assigned and their logins fail ("No backends configured in database")', 'directorctl backend:up BACKEND')
  }

  const withIp = backends.filter((b) => b.hostip)
  if (withIp.length > 0 && withIp.length < backends.length) {
    add('hostip-mixed', 'CRITICAL', `backends ${backends.filter((b) => !b.hostip).map((b) => b.hostname).join(', ')} have no hostip while others do: the published script then sends their users to the previous request's IP (the wrong server)`, 'directorctl backend:update BACKEND --ip IP')
  }

  if (mode === 'direct' && options.lowercase) {
    const upper = await knex(TABLES.mapping).whereRaw(`${dialect.exactColumn(column)} <> lower(??)`, [column]).limit(SAMPLE).pluck(column)
    if (upper.length > 0) {
      add('uppercase-users', 'WARNING', `user names with capital letters (${upper.join(', ')}): Dovecot lowercases login names by default, so these rows are never matched`, 'Re-assign them lowercased (user:assign), or run with --no-lowercase if your auth_username_format keeps case')
    }
  }

  const mapping = mappingFor(mode, knex, dialect)
  const counts = await mapping.countsByBackend()
  if (mode === 'shard') {
    const filled = await mapping.distinctKeys()
    if (filled < SHARD_COUNT) add('unfilled-shards', 'WARNING', `${SHARD_COUNT - filled} of ${SHARD_COUNT} shards are unfilled: the proxies assign them at random on first login, and can race`, 'directorctl shard:fill')
  }

  if (backends.some((b) => b.state === 0 && b.weight > 0)) {
    try {
      const plan = planRebalance(backends, counts)
      const far = backends.filter((b) => {
        const target = plan.targets.get(b.id) ?? 0
        const current = counts.get(b.id) ?? 0
        return Math.abs(current - target) > Math.max(2, options.imbalance * Math.max(target, 1))
      })
      if (far.length > 0) {
        add('imbalance', 'WARNING', `backends far from their weight share: ${far.map((b) => `${b.hostname} ${counts.get(b.id) ?? 0} (target ${plan.targets.get(b.id)})`).join(', ')}; a rebalance would move ${plan.moves}`, `directorctl ${mode === 'shard' ? 'shard' : 'user'}:rebalance`)
      }
    } catch {
      // A tag group without an eligible backend: reported by no-up-backend or by the planners.
    }
  }

  if (hasTool) {
    const lock = await RunLock.read(knex)
    if (lock && isStale(lock, Date.now(), 120_000)) {
      add('stale-lock', 'WARNING', `a run lock left by a killed run: ${lock.holder} (host ${lock.host}, pid ${lock.pid}, last heartbeat ${new Date(lock.heartbeatAt).toISOString()}); the next run takes it over`)
    }
  } else {
    add('tool-tables', 'WARNING', 'the directorctl_* tables are missing: every backend counts as weight 100 without tags', 'directorctl schema:upgrade')
  }

  return {findings, mode}
}

export function worst(findings: Finding[]): Severity {
  if (findings.some((f) => f.severity === 'CRITICAL')) return 'CRITICAL'
  if (findings.some((f) => f.severity === 'WARNING')) return 'WARNING'
  return 'OK'
}
