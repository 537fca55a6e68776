/** How a backend is shown: the contract's JSON shape and the human table. */
import type {Backend} from '../director/backends.js'
import type {Session} from '../session.js'
import {type Column, formatTable, percent} from './table.js'

export interface BackendJson {
  id: number
  hostname: string
  hostip: string | null
  state: number
  weight: number
  tags: string[]
  /** Users (direct mode) or shards (shard mode) mapped to it. */
  assigned: number
  /** assigned / all mappings, 0..1. */
  share: number
  /** Weight / sum of weights of up backends, 0..1 (0 while down). */
  weightShare: number
  downBy: string | null
}

export function backendJson(backend: Backend, assigned: number, totals: {assigned: number; upWeight: number}): BackendJson {
  return {
    assigned,
    downBy: backend.downBy,
    hostip: backend.hostip,
    hostname: backend.hostname,
    id: backend.id,
    share: totals.assigned === 0 ? 0 : assigned / totals.assigned,
    state: backend.state,
    tags: backend.tags,
    weight: backend.weight,
    weightShare: backend.state !== 0 || totals.upWeight === 0 ? 0 : backend.weight / totals.upWeight,
  }
}

export function backendsJson(backends: Backend[], counts: Map<number, number>): BackendJson[] {
  const totals = {
    assigned: backends.reduce((sum, b) => sum + (counts.get(b.id) ?? 0), 0),
    upWeight: backends.filter((b) => b.state === 0).reduce((sum, b) => sum + b.weight, 0),
  }
  return backends.map((b) => backendJson(b, counts.get(b.id) ?? 0, totals))
}

/** One backend in backend:list's shape (its share needs every backend's counts). */
export async function backendView(session: Session, id: number): Promise<BackendJson> {
  const [all, counts] = await Promise.all([session.backends.list(), session.mapping.countsByBackend()])
  return backendsJson(all, counts).find((b) => b.id === id)!
}

export function stateName(state: number, downBy?: string | null): string {
  if (state === 0) return 'up'
  return downBy === 'check' ? 'down (check)' : 'down'
}

export function backendTable(rows: BackendJson[], keyNoun: string): string {
  const columns: Column<BackendJson>[] = [
    {align: 'right', get: (b) => b.id, header: 'ID'},
    {get: (b) => b.hostname, header: 'HOSTNAME'},
    {get: (b) => b.hostip, header: 'HOSTIP'},
    {get: (b) => stateName(b.state, b.downBy), header: 'STATE'},
    {align: 'right', get: (b) => b.weight, header: 'WEIGHT'},
    {get: (b) => b.tags.join(',') || '-', header: 'TAGS'},
    {align: 'right', get: (b) => b.assigned, header: keyNoun === 'shard' ? 'SHARDS' : 'USERS'},
    {align: 'right', get: (b) => (b.assigned === 0 && b.share === 0 ? '-' : percent(b.share, 1)), header: 'SHARE'},
    {align: 'right', get: (b) => (b.state === 0 ? percent(b.weightShare, 1) : '-'), header: 'WEIGHT SHARE'},
  ]
  return formatTable(rows, columns)
}
