/**
 * Pure planners for weighted placement: no I/O, same input -> same plan.
 *
 * Backends are partitioned by their tag set: keys never leave the group of backends with the
 * backend's tags (in the 2.x director a tag is a storage cluster). Within a group, the items
 * are split over the eligible backends (up, weight > 0) in proportion to weight, with
 * largest-remainder rounding, so targets sum exactly to the total and each is within 1 of
 * its exact share.
 */
import {RefusedError} from '../errors.js'
import {ScoreHeap} from './heap.js'

export interface PlanBackend {
  id: number
  hostname?: string
  weight: number
  /** 0: up. */
  state: number
  tags: string[]
}

export type Counts = Map<number, number>

/** One planned flow: `count` keys go from backend `from` to backend `to`. */
export interface Flow {
  from: number
  to: number
  count: number
}

export const groupOf = (b: Pick<PlanBackend, 'tags'>): string => [...b.tags].sort().join(',')
export const eligible = (b: PlanBackend): boolean => b.state === 0 && b.weight > 0

/** Largest-remainder split of `total` over backends by weight (ties: lower id). */
export function weightTargets(total: number, backends: PlanBackend[]): Counts {
  const candidates = backends.filter((b) => eligible(b)).sort((a, b) => a.id - b.id)
  const targets: Counts = new Map(backends.map((b) => [b.id, 0]))
  if (total === 0) return targets
  const weightSum = candidates.reduce((s, b) => s + b.weight, 0)
  if (weightSum === 0) {
    const group = backends.length > 0 ? groupOf(backends[0]) : ''
    throw new RefusedError(`No eligible backend${group ? ` with tags ${group}` : ''} for ${total} item(s): every one is down or has weight 0`, [
      'Bring one up (backend:up) or give one a weight (backend:update --weight)',
    ])
  }

  let assigned = 0
  const remainders: {id: number; rest: number}[] = []
  for (const b of candidates) {
    // Exact integer arithmetic: total * weight fits easily in a double for our sizes.
    const exact = total * b.weight
    const floor = Math.floor(exact / weightSum)
    targets.set(b.id, floor)
    assigned += floor
    remainders.push({id: b.id, rest: exact - floor * weightSum})
  }

  remainders.sort((a, b) => b.rest - a.rest || a.id - b.id)
  for (let i = 0; i < total - assigned; i++) targets.set(remainders[i].id, targets.get(remainders[i].id)! + 1)
  return targets
}

export function groupBackends(backends: PlanBackend[]): Map<string, PlanBackend[]> {
  const groups = new Map<string, PlanBackend[]>()
  for (const b of [...backends].sort((a, b) => a.id - b.id)) {
    const g = groupOf(b)
    groups.set(g, [...(groups.get(g) ?? []), b])
  }

  return groups
}

export interface RebalancePlan {
  flows: Flow[]
  moves: number
  targets: Counts
  before: Counts
  after: Counts
}

/**
 * Rebalance: move sum(max(0, current - target)) keys, the fewest possible, each at most once.
 * Moves are made one key at a time from the most over-target backend to the most under-target
 * backend of its group, so a --max-moves cap keeps the moves that reduce imbalance most.
 */
export function planRebalance(backends: PlanBackend[], counts: Counts, options: {maxMoves?: number} = {}): RebalancePlan {
  const targets: Counts = new Map()
  const surplus = new ScoreHeap()
  const deficits = new Map<string, ScoreHeap>()
  const groupOfId = new Map<number, string>()
  for (const [group, members] of groupBackends(backends)) {
    const total = members.reduce((s, b) => s + (counts.get(b.id) ?? 0), 0)
    const groupTargets = weightTargets(total, members)
    const heap = new ScoreHeap()
    for (const b of members) {
      const target = groupTargets.get(b.id)!
      const current = counts.get(b.id) ?? 0
      targets.set(b.id, target)
      groupOfId.set(b.id, group)
      if (current > target) surplus.push(b.id, current - target)
      if (current < target) heap.push(b.id, target - current)
    }

    deficits.set(group, heap)
  }

  const limit = options.maxMoves ?? Number.POSITIVE_INFINITY
  const flows = new Map<string, Flow>()
  let moves = 0
  while (moves < limit && surplus.size > 0) {
    const donor = surplus.pop()!
    const receivers = deficits.get(groupOfId.get(donor.id)!)!
    const receiver = receivers.pop()!
    const id = `${donor.id}>${receiver.id}`
    const flow = flows.get(id) ?? {count: 0, from: donor.id, to: receiver.id}
    flow.count++
    flows.set(id, flow)
    moves++
    if (donor.score > 1) surplus.push(donor.id, donor.score - 1)
    if (receiver.score > 1) receivers.push(receiver.id, receiver.score - 1)
  }

  return withCounts([...flows.values()], moves, targets, counts)
}

/**
 * Drain: every key of `drained` goes to the other eligible backends of its group, each to the
 * one most under its target at that moment (targets computed without the drained backend).
 */
export function planDrain(backends: PlanBackend[], counts: Counts, drained: number): RebalancePlan {
  const source = backends.find((b) => b.id === drained)
  if (!source) throw new RefusedError(`Backend ${drained} is not in the plan`)
  const group = backends.filter((b) => groupOf(b) === groupOf(source) && b.id !== drained)
  const n = counts.get(drained) ?? 0
  const total = group.reduce((s, b) => s + (counts.get(b.id) ?? 0), 0) + n
  if (n > 0 && !group.some((b) => eligible(b))) {
    throw new RefusedError(`Cannot drain backend ${source.hostname ?? drained}: no other up backend with weight > 0${groupOf(source) ? ` and tags ${groupOf(source)}` : ''} to take its ${n} item(s)`)
  }

  const targets = n > 0 ? weightTargets(total, group) : new Map(group.map((b) => [b.id, counts.get(b.id) ?? 0]))
  targets.set(drained, 0)
  const placed = placeGreedy(n, group.filter((b) => eligible(b)), counts, targets)
  const flows = [...placed].filter(([, c]) => c > 0).map(([to, count]) => ({count, from: drained, to}))
  return withCounts(flows, n, targets, counts)
}

/**
 * Fill: `n` new keys (unassigned shards) for a group, each to the eligible backend most under
 * its target for the group's total after the fill. Returns how many each backend gets.
 */
export function planFill(backends: PlanBackend[], counts: Counts, n: number): {placed: Counts; targets: Counts; before: Counts; after: Counts} {
  const total = backends.reduce((s, b) => s + (counts.get(b.id) ?? 0), 0) + n
  const targets = weightTargets(total, backends)
  const placed = placeGreedy(n, backends.filter((b) => eligible(b)), counts, targets)
  const before = new Map(backends.map((b) => [b.id, counts.get(b.id) ?? 0]))
  const after = new Map(backends.map((b) => [b.id, (counts.get(b.id) ?? 0) + (placed.get(b.id) ?? 0)]))
  return {after, before, placed, targets}
}

/** n keys, one at a time, to whichever receiver is furthest below its target (may go above). */
function placeGreedy(n: number, receivers: PlanBackend[], counts: Counts, targets: Counts): Counts {
  const placed: Counts = new Map(receivers.map((b) => [b.id, 0]))
  const heap = new ScoreHeap(receivers.map((b) => [b.id, targets.get(b.id)! - (counts.get(b.id) ?? 0)]))
  for (let i = 0; i < n; i++) {
    const top = heap.pop()!
    placed.set(top.id, placed.get(top.id)! + 1)
    heap.push(top.id, top.score - 1)
  }

  return placed
}

function withCounts(flows: Flow[], moves: number, targets: Counts, counts: Counts): RebalancePlan {
  const before: Counts = new Map()
  for (const id of new Set([...targets.keys(), ...counts.keys()])) before.set(id, counts.get(id) ?? 0)
  const after = new Map(before)
  for (const f of flows) {
    after.set(f.from, after.get(f.from)! - f.count)
    after.set(f.to, (after.get(f.to) ?? 0) + f.count)
  }

  return {after, before, flows, moves, targets}
}

/**
 * Turn flows into key moves: each donor gives its first keys in key order (deterministic),
 * split over its flows in order. `keysOf(donor, n)` is the donor's first n keys.
 */
export function assignKeys<K>(flows: Flow[], keysByDonor: Map<number, K[]>): {key: K; from: number; to: number}[] {
  const taken = new Map<number, number>()
  const moves: {key: K; from: number; to: number}[] = []
  for (const flow of [...flows].sort((a, b) => a.from - b.from || a.to - b.to)) {
    const keys = keysByDonor.get(flow.from) ?? []
    const start = taken.get(flow.from) ?? 0
    if (start + flow.count > keys.length) throw new Error(`backend ${flow.from} has fewer keys than the plan moves`)
    for (const key of keys.slice(start, start + flow.count)) moves.push({from: flow.from, key, to: flow.to})
    taken.set(flow.from, start + flow.count)
  }

  return moves
}

/** How many keys each donor gives, to fetch exactly those. */
export function outflows(flows: Flow[]): Counts {
  const out: Counts = new Map()
  for (const f of flows) out.set(f.from, (out.get(f.from) ?? 0) + f.count)
  return out
}

export function countsJson(counts: Counts): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => a[0] - b[0]).map(([id, n]) => [String(id), n]))
}
