import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {RefusedError} from '../../src/errors.js'
import {assignKeys, type Counts, groupOf, outflows, type PlanBackend, planDrain, planFill, planRebalance, weightTargets} from '../../src/plan/placement.js'

const backendArb = fc.record({
  state: fc.constantFrom(0, 0, 0, 1),
  tags: fc.constantFrom<string[][]>([], [], ['gold'], ['silver']),
  weight: fc.integer({max: 1000, min: 0}),
})

/** Backends with ids 1..n and per-backend counts; at least one eligible backend per non-empty group. */
const siteArb = fc
  .array(fc.tuple(backendArb, fc.integer({max: 400, min: 0})), {maxLength: 8, minLength: 1})
  .map((rows) => {
    const backends: PlanBackend[] = rows.map(([b], i) => ({...b, id: i + 1}))
    const counts: Counts = new Map(rows.map(([, n], i) => [i + 1, n]))
    // Make every group that holds items have an eligible member.
    for (const b of backends) {
      const group = backends.filter((x) => groupOf(x) === groupOf(b))
      if (!group.some((x) => x.state === 0 && x.weight > 0)) Object.assign(group[0], {state: 0, weight: 100})
    }

    return {backends, counts}
  })

const sum = (m: Counts) => [...m.values()].reduce((a, b) => a + b, 0)
const keysFor = (counts: Counts) => new Map([...counts].map(([id, n]) => [id, Array.from({length: n}, (_, i) => `b${id}-k${String(i).padStart(4, '0')}`)]))

describe('weight targets', () => {
  it('sum exactly to the total and are each within 1 of the exact share', () => {
    fc.assert(fc.property(fc.integer({max: 100_000, min: 0}), siteArb, (total, {backends}) => {
      const group = backends.filter((b) => groupOf(b) === groupOf(backends[0]))
      const targets = weightTargets(total, group)
      assert.equal(sum(targets), total)
      const eligible = group.filter((b) => b.state === 0 && b.weight > 0)
      const weights = eligible.reduce((s, b) => s + b.weight, 0)
      for (const b of group) {
        const exact = eligible.includes(b) ? (total * b.weight) / weights : 0
        assert.ok(Math.abs(targets.get(b.id)! - exact) < 1, `backend ${b.id}: ${targets.get(b.id)} vs ${exact}`)
      }
    }))
  })

  it('65536 shards over weights 100/200/100 are 16384/32768/16384', () => {
    const t = weightTargets(65_536, [1, 2, 3].map((id) => ({id, state: 0, tags: [], weight: id === 2 ? 200 : 100})))
    assert.deepEqual([...t.values()], [16_384, 32_768, 16_384])
  })

  it('refuses when nothing is eligible (exit 4)', () => {
    assert.throws(() => weightTargets(5, [{id: 1, state: 1, tags: [], weight: 100}, {id: 2, state: 0, tags: [], weight: 0}]), RefusedError)
  })
})

describe('rebalance planner', () => {
  it('moves exactly sum(max(0, current - target)), each key at most once, within its tag group, to the targets', () => {
    fc.assert(fc.property(siteArb, ({backends, counts}) => {
      const plan = planRebalance(backends, counts)
      const expected = backends.reduce((s, b) => s + Math.max(0, (counts.get(b.id) ?? 0) - plan.targets.get(b.id)!), 0)
      assert.equal(plan.moves, expected)
      for (const b of backends) assert.equal(plan.after.get(b.id), plan.targets.get(b.id))
      const byId = new Map(backends.map((b) => [b.id, b]))
      for (const f of plan.flows) assert.equal(groupOf(byId.get(f.from)!), groupOf(byId.get(f.to)!), 'a key left its tag group')
      const moves = assignKeys(plan.flows, keysFor(counts))
      assert.equal(moves.length, plan.moves)
      assert.equal(new Set(moves.map((m) => m.key)).size, moves.length, 'a key moved twice')
      for (const m of moves) assert.ok(m.key.startsWith(`b${m.from}-`))
      // Nothing moves into an over-target backend or out of an under-target one.
      for (const f of plan.flows) {
        assert.ok((counts.get(f.from) ?? 0) > plan.targets.get(f.from)!)
        assert.ok((counts.get(f.to) ?? 0) < plan.targets.get(f.to)!)
      }
    }))
  })

  it('is deterministic: same input (in any order), same plan', () => {
    fc.assert(fc.property(siteArb, ({backends, counts}) => {
      const a = planRebalance(backends, counts)
      const b = planRebalance([...backends].reverse(), new Map([...counts].reverse()))
      assert.deepEqual(a.flows.sort((x, y) => x.from - y.from || x.to - y.to), b.flows.sort((x, y) => x.from - y.from || x.to - y.to))
    }))
  })

  it('with --max-moves, takes the moves that reduce imbalance most first', () => {
    fc.assert(fc.property(siteArb, fc.integer({max: 50, min: 1}), ({backends, counts}, cap) => {
      const full = planRebalance(backends, counts)
      const capped = planRebalance(backends, counts, {maxMoves: cap})
      assert.equal(capped.moves, Math.min(cap, full.moves))
      const imbalance = (m: Counts) => backends.reduce((s, b) => s + Math.abs((m.get(b.id) ?? 0) - full.targets.get(b.id)!), 0)
      // Every move takes one from above target to below: imbalance drops by exactly 2 per move.
      assert.equal(imbalance(capped.after), imbalance(counts) - 2 * capped.moves)
      // The most over-target backend gives first.
      if (capped.moves > 0) {
        const worst = Math.max(...backends.map((b) => (counts.get(b.id) ?? 0) - full.targets.get(b.id)!))
        const first = backends.filter((b) => (counts.get(b.id) ?? 0) - full.targets.get(b.id)! === worst).map((b) => b.id)
        assert.ok(capped.flows.some((f) => first.includes(f.from)))
      }
    }))
  })

  it('a second run after applying the plan moves nothing', () => {
    fc.assert(fc.property(siteArb, ({backends, counts}) => {
      const plan = planRebalance(backends, counts)
      assert.equal(planRebalance(backends, plan.after).moves, 0)
    }))
  })
})

describe('drain planner', () => {
  it('moves every key of the drained backend, only those, to eligible backends of its group', () => {
    fc.assert(fc.property(siteArb, fc.nat(), ({backends, counts}, pick) => {
      const drained = backends[pick % backends.length]
      const others = backends.filter((b) => b !== drained && groupOf(b) === groupOf(drained) && b.state === 0 && b.weight > 0)
      if (others.length === 0 && (counts.get(drained.id) ?? 0) > 0) {
        assert.throws(() => planDrain(backends, counts, drained.id), RefusedError)
        return
      }

      const plan = planDrain(backends, counts, drained.id)
      assert.equal(plan.moves, counts.get(drained.id) ?? 0)
      assert.equal(plan.after.get(drained.id), 0)
      assert.deepEqual([...outflows(plan.flows).keys()].filter((id) => id !== drained.id), [])
      for (const f of plan.flows) assert.ok(others.some((b) => b.id === f.to))
    }))
  })

  it('fills the most under-target backend first', () => {
    const backends = [1, 2, 3].map((id) => ({id, state: 0, tags: [] as string[], weight: 100}))
    const plan = planDrain(backends, new Map([[1, 30], [2, 30], [3, 0]]), 1)
    assert.deepEqual(plan.flows, [{count: 30, from: 1, to: 3}])
  })
})

describe('fill planner', () => {
  it('places every new key on eligible backends toward the weight targets', () => {
    fc.assert(fc.property(siteArb, fc.integer({max: 5000, min: 0}), ({backends, counts}, n) => {
      const group = backends.filter((b) => groupOf(b) === groupOf(backends[0]))
      const fill = planFill(group, counts, n)
      assert.equal(sum(fill.placed), n)
      for (const [id, k] of fill.placed) if (k > 0) assert.ok(group.find((b) => b.id === id)!.state === 0)
    }))
  })

  it('on empty backends lands exactly on the targets', () => {
    const backends = [1, 2, 3].map((id) => ({id, state: 0, tags: [] as string[], weight: id * 100}))
    const fill = planFill(backends, new Map(), 65_536)
    assert.deepEqual(fill.after, fill.targets)
  })
})
