/**
 * Backends: rows of `backends` (what the scripts read) joined with the tool's own
 * directorctl_backends (weight, tags, who set it down).
 */
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'

import type {Knex} from 'knex'

import type {Dialect} from '../db/dialect.js'
import {TABLES} from '../db/schema.js'
import {InputError, NotFoundError, RefusedError} from '../errors.js'

export const DEFAULT_WEIGHT = 100
export const MAX_WEIGHT = 1_000_000
export const STATE_UP = 0
export const STATE_DOWN = 1

export type DownBy = 'operator' | 'check'

export interface Backend {
  id: number
  hostname: string
  hostip: string | null
  /** 0: takes new users; anything else: no new users (existing ones still routed here). */
  state: number
  weight: number
  tags: string[]
  downBy: DownBy | null
  stateChangedAt: number | null
}

export interface NewBackend {
  hostname: string
  hostip: string
  id?: number
  weight?: number
  tags?: string[]
  state?: number
}

export interface BackendChanges {
  hostname?: string
  hostip?: string
  weight?: number
  tags?: string[]
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function normalizeHostname(hostname: string): string {
  const name = hostname.trim().toLowerCase()
  if (isIP(name)) return name
  if (!HOSTNAME.test(name)) throw new InputError(`Invalid hostname ${JSON.stringify(hostname)}: use letters, digits, hyphens and dots (or an IP address)`)
  return name.replace(/\.$/, '')
}

export function normalizeIp(ip: string): string {
  const value = ip.trim()
  if (!isIP(value)) throw new InputError(`Invalid IP address ${JSON.stringify(ip)}`)
  return value.toLowerCase()
}

export function validateWeight(weight: number): number {
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new InputError(`Invalid weight ${weight}: use a whole number from 0 to ${MAX_WEIGHT} (0 takes no share)`)
  }

  return weight
}

export function normalizeTags(tags: string[]): string[] {
  for (const tag of tags) {
    if (!TAG.test(tag)) throw new InputError(`Invalid tag ${JSON.stringify(tag)}: use letters, digits, '.', '_' and '-' (at most 64)`)
  }

  return [...new Set(tags)].sort()
}

export function isUp(backend: Pick<Backend, 'state'>): boolean {
  return backend.state === STATE_UP
}

/** The IP the published script will hand to Dovecot: given, or the host name resolved now. */
export async function resolveHostIp(hostname: string, ip?: string): Promise<string> {
  if (ip !== undefined) return normalizeIp(ip)
  if (isIP(hostname)) return hostname
  try {
    const {address} = await lookup(hostname)
    return address
  } catch {
    throw new InputError(`Cannot resolve ${hostname} to an IP address; give one with --ip`, [
      'Every backend needs a hostip: the published script otherwise sends its users to the previous request\'s IP',
    ])
  }
}

interface BackendRow {
  id: number | string
  hostname: string
  hostip: string | null
  state: number | string | null
  weight?: number | string | null
  tags?: string | null
  down_by?: string | null
  state_changed_at?: number | string | null
}

function fromRow(row: BackendRow): Backend {
  return {
    downBy: (row.down_by as DownBy | undefined) ?? null,
    hostip: row.hostip === '' ? null : row.hostip,
    hostname: row.hostname,
    id: Number(row.id),
    state: Number(row.state ?? 0),
    stateChangedAt: row.state_changed_at === null || row.state_changed_at === undefined ? null : Number(row.state_changed_at),
    tags: row.tags ? row.tags.split(',') : [],
    weight: row.weight === null || row.weight === undefined ? DEFAULT_WEIGHT : Number(row.weight),
  }
}

export class Backends {
  /** Shard schemas created from the documentation have no state column. */
  private readonly hasState: boolean
  /** Tables from the documentation have no directorctl_backends (yet): weight 100, no tags. */
  private readonly hasMeta: boolean

  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
    schema: {hasState?: boolean; hasMeta?: boolean} = {},
  ) {
    this.hasState = schema.hasState ?? true
    this.hasMeta = schema.hasMeta ?? true
  }

  private select(db: Knex | Knex.Transaction = this.knex) {
    const columns: (string | Knex.Raw)[] = ['b.id', 'b.hostname', 'b.hostip']
    columns.push(this.hasState ? 'b.state' : db.raw('0 as state'))
    if (!this.hasMeta) return db(`${TABLES.backends} as b`).select(columns).orderBy('b.id')
    columns.push('m.weight', 'm.tags', 'm.down_by', 'm.state_changed_at')
    return db(`${TABLES.backends} as b`).leftJoin(`${TABLES.backendMeta} as m`, 'm.backend_id', 'b.id').select(columns).orderBy('b.id')
  }

  async list(): Promise<Backend[]> {
    return (await this.select()).map((row: BackendRow) => fromRow(row))
  }

  /** A backend by id (all digits) or host name. */
  async find(ref: string, db: Knex | Knex.Transaction = this.knex): Promise<Backend> {
    const trimmed = ref.trim()
    const query = this.select(db)
    if (/^\d+$/.test(trimmed)) query.where('b.id', Number(trimmed))
    else query.whereRaw('lower(b.hostname) = ?', [trimmed.toLowerCase()])
    const rows: BackendRow[] = await query
    if (rows.length === 0) throw new NotFoundError(`No backend ${JSON.stringify(ref)}`, ['List them with: directorctl backend:list'])
    if (rows.length > 1) throw new RefusedError(`Host name ${trimmed} names ${rows.length} backends (ids ${rows.map((r) => r.id).join(', ')}); name one by id`)
    return fromRow(rows[0])
  }

  async add(input: NewBackend): Promise<Backend> {
    const hostname = normalizeHostname(input.hostname)
    const hostip = normalizeIp(input.hostip)
    const weight = validateWeight(input.weight ?? DEFAULT_WEIGHT)
    const tags = normalizeTags(input.tags ?? [])
    const state = input.state ?? STATE_UP
    if (input.id !== undefined && (!Number.isInteger(input.id) || input.id < 1 || input.id > 2_147_483_647)) {
      throw new InputError(`Invalid backend id ${input.id}: use a whole number from 1 to 2147483647`)
    }

    // Ids are ours to choose (the column has no auto-increment). Two runs that pick the same
    // next id collide on the primary key; the loser picks again.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        return await this.knex.transaction(async (trx) => {
          const clash = await trx(TABLES.backends).whereRaw('lower(hostname) = ?', [hostname]).first('id')
          if (clash) throw new RefusedError(`A backend named ${hostname} already exists (id ${clash.id})`)
          const id = input.id ?? Number((await trx(TABLES.backends).max('id as max').first())?.max ?? 0) + 1
          const row: Record<string, unknown> = {hostip, hostname, id}
          if (this.hasState) row.state = state
          await trx(TABLES.backends).insert(row)
          await trx(TABLES.backendMeta).insert({
            backend_id: id,
            down_by: state === STATE_UP ? null : 'operator',
            state_changed_at: Date.now(),
            tags: tags.join(','),
            weight,
          })
          return this.find(String(id), trx)
        })
      } catch (error) {
        if (!this.dialect.isUniqueViolation(error)) throw error
        if (input.id !== undefined) throw new RefusedError(`Backend id ${input.id} is already in use`)
        const clash = await this.knex(TABLES.backends).whereRaw('lower(hostname) = ?', [hostname]).first('id')
        if (clash) throw new RefusedError(`A backend named ${hostname} already exists (id ${clash.id})`)
      }
    }

    throw new RefusedError('Could not choose a free backend id; too many concurrent adds. Try again, or pass --id')
  }

  async update(id: number, changes: BackendChanges): Promise<Backend> {
    return this.knex.transaction(async (trx) => {
      const core: Record<string, unknown> = {}
      if (changes.hostname !== undefined) {
        const hostname = normalizeHostname(changes.hostname)
        const clash = await trx(TABLES.backends).whereRaw('lower(hostname) = ?', [hostname]).whereNot('id', id).first('id')
        if (clash) throw new RefusedError(`A backend named ${hostname} already exists (id ${clash.id})`)
        core.hostname = hostname
      }

      if (changes.hostip !== undefined) core.hostip = normalizeIp(changes.hostip)
      if (Object.keys(core).length > 0) await trx(TABLES.backends).where('id', id).update(core)

      const meta: Record<string, unknown> = {}
      if (changes.weight !== undefined) meta.weight = validateWeight(changes.weight)
      if (changes.tags !== undefined) meta.tags = normalizeTags(changes.tags).join(',')
      if (Object.keys(meta).length > 0) await this.upsertMeta(trx, id, meta)
      return this.find(String(id), trx)
    })
  }

  /** Up (state 0) or down (state 1: no new users). `by` records who, so backend:check only undoes its own. */
  async setState(id: number, up: boolean, by: DownBy = 'operator'): Promise<Backend> {
    if (!this.hasState) {
      throw new RefusedError('The backends table has no state column, so backends cannot be set down', ['Add it with: directorctl schema:upgrade'])
    }

    return this.knex.transaction(async (trx) => {
      await trx(TABLES.backends).where('id', id).update({state: up ? STATE_UP : STATE_DOWN})
      await this.upsertMeta(trx, id, {down_by: up ? null : by, state_changed_at: Date.now()})
      return this.find(String(id), trx)
    })
  }

  /**
   * Delete a backend that nothing maps to. It is set down first so that no proxy assigns it a
   * new user meanwhile; the DELETE itself re-checks that nothing maps to it.
   */
  async remove(id: number, mappedCount: () => Promise<number>): Promise<void> {
    const refuse = (n: number) => new RefusedError(`Backend ${id} still has ${n} mapping${n === 1 ? '' : 's'}; nothing was removed`, [
      'Move them first with: directorctl backend:drain, or pass --drain',
    ])
    const before = await mappedCount()
    if (before > 0) throw refuse(before)
    if (this.hasState) await this.setState(id, false)
    const removed = await this.knex.transaction(async (trx) => {
      const count = await trx(TABLES.backends)
        .where('id', id)
        .whereNotExists((q) => q.select(trx.raw('1')).from(TABLES.mapping).where('backend_id', id))
        .delete()
      if (count > 0) await trx(TABLES.backendMeta).where('backend_id', id).delete()
      return count > 0
    })
    if (!removed) throw refuse(await mappedCount())
  }

  private async upsertMeta(trx: Knex.Transaction, id: number, values: Record<string, unknown>): Promise<void> {
    const updated = await trx(TABLES.backendMeta).where('backend_id', id).update(values)
    if (updated === 0) await trx(TABLES.backendMeta).insert({backend_id: id, tags: '', weight: DEFAULT_WEIGHT, ...values})
  }
}
