/**
 * fill, rebalance and drain through the CLI on every engine, with simulated proxies working
 * at the same time; and a run killed mid-way, then run again.
 */
import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {TABLES} from '../../src/db/schema.js'
import type {PlanDocument} from '../../src/plan-command.js'
import {cleanHome, ROOT, runCli} from '../helpers/cli.js'
import {forEachEngine, type TestDatabase} from '../helpers/engines.js'
import {startFakeProxies} from '../helpers/proxies.js'

async function rowsPerKey(db: TestDatabase, column: string): Promise<{total: number; doubles: number; byBackend: Record<string, number>}> {
  const conn = await db.connect()
  try {
    const total = Number((await conn.knex(TABLES.mapping).count({n: '*'}).first())?.n)
    const doubles = (await conn.knex(TABLES.mapping).select(column).count({n: '*'}).groupBy(column).having(conn.knex.raw('count(*) > 1'))).length
    const byBackend = Object.fromEntries((await conn.knex(TABLES.mapping).select('backend_id').count({n: '*'}).groupBy('backend_id')).map((r) => [String((r as {backend_id: number}).backend_id), Number(r.n)]))
    return {byBackend, doubles, total}
  } finally {
    await conn.close()
  }
}

forEachEngine('shard:fill, shard:rebalance, backend:drain with proxies running', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})
  const users = Array.from({length: 400}, (_, i) => `p${i}@example.org`)

  it('fill creates every missing shard once, by weight, while proxies insert', async function () {
    this.timeout(120_000)
    for (const args of [['schema:init', '--mode', 'shard'], ...[1, 2, 3].map((n) => ['backend:add', `s${n}.example.com`, '--ip', `192.0.2.${n}`])]) {
      assert.equal((await cli(...args)).code, 0)
    }

    const proxies = startFakeProxies(db().url, 'shard', 2, 4000, users)
    await sleep(500)
    const fill = await cli('shard:fill', '--yes', '--json')
    assert.equal(fill.code, 0, fill.stderr)
    const doc = fill.json<PlanDocument>()
    assert.ok(doc.changes! > 60_000)
    await proxies
    const after = await rowsPerKey(db(), 'user_hash')
    assert.deepEqual([after.total, after.doubles], [65_536, 0])
    assert.equal((await cli('shard:fill', '--yes', '--json')).json<PlanDocument>().changes, 0, 'a second fill has nothing to do')
  })

  it('rebalance after a weight change moves the minimal number and lands within 1 of every target', async function () {
    this.timeout(120_000)
    assert.equal((await cli('backend:update', '2', '--weight', '300')).code, 0)
    const dry = (await cli('shard:rebalance', '--dry-run', '--json')).json<PlanDocument>()
    const before = dry.before
    const minimal = Object.keys(before).reduce((s, id) => s + Math.max(0, before[id] - dry.targets![id]), 0)
    assert.equal(dry.moves, minimal)
    const proxies = startFakeProxies(db().url, 'shard', 2, 3000, users)
    const run = await cli('shard:rebalance', '--yes', '--json', '--batch-size', '1000')
    await proxies
    assert.equal(run.code, 0, run.stderr)
    const doc = run.json<PlanDocument>()
    assert.equal(doc.moves, minimal)
    const exact = {1: 65_536 / 5, 2: (65_536 * 3) / 5, 3: 65_536 / 5} as Record<string, number>
    for (const id of ['1', '2', '3']) assert.ok(Math.abs(doc.result![id] - exact[id]) < 1, `backend ${id}: ${doc.result![id]}`)
    assert.deepEqual(doc.result, doc.after)
    assert.equal((await cli('shard:rebalance', '--yes', '--json')).json<PlanDocument>().moves, 0)
  })

  it('drain empties a backend onto the others and leaves nothing on it', async function () {
    this.timeout(120_000)
    const proxies = startFakeProxies(db().url, 'shard', 2, 3000, users)
    const drain = await cli('backend:drain', 's1.example.com', '--yes', '--json')
    await proxies
    assert.equal(drain.code, 0, drain.stderr)
    const doc = drain.json<PlanDocument>()
    assert.equal(doc.after['1'], 0)
    const after = await rowsPerKey(db(), 'user_hash')
    assert.deepEqual([after.total, after.doubles, after.byBackend['1']], [65_536, 0, undefined])
    assert.deepEqual(after.byBackend, Object.fromEntries(Object.entries(doc.after).filter(([, n]) => n > 0)))
    const show = (await cli('backend:show', '1', '--json')).json<{state: number}>()
    assert.equal(show.state, 1)
    const last = await cli('backend:drain', '3', '--yes', '--json')
    assert.equal(last.code, 0)
    const refused = await cli('backend:drain', '2', '--yes')
    assert.equal(refused.code, 4, 'draining the last up backend is refused')
    assert.match(refused.stderr, /no other up backend/)
    const history = (await cli('history', '--json')).json<{command: string}[]>()
    assert.ok(history.some((h) => h.command === 'shard:rebalance') && history.some((h) => h.command === 'backend:drain'))
  })

  it('bad input: --max-moves 0 (2), a negative weight (2)', async () => {
    assert.equal((await cli('shard:rebalance', '--max-moves', '0')).code, 2)
    assert.equal((await cli('backend:update', '2', '--weight', '-5')).code, 2)
  })
})

forEachEngine('user:rebalance and backend:remove --drain (direct mode)', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})

  it('moves users to weight targets, then removes a backend after draining it', async function () {
    this.timeout(120_000)
    for (const args of [['schema:init', '--mode', 'direct'], ...[1, 2].map((n) => ['backend:add', `d${n}.example.com`, '--ip', `192.0.2.${n}`])]) {
      assert.equal((await cli(...args)).code, 0)
    }

    const users = Array.from({length: 900}, (_, i) => `u${i}@example.com`)
    const file = path.join(tmpdir(), `directorctl-rebal-${process.pid}-${db().engine}.csv`)
    writeFileSync(file, users.map((u) => `${u},1`).join('\n'))
    assert.equal((await cli('user:assign', '--file', file)).code, 0)
    assert.equal((await cli('backend:add', 'd3.example.com', '--ip', '192.0.2.3', '--weight', '200')).code, 0)
    const proxies = startFakeProxies(db().url, 'direct', 2, 3000, users)
    const run = await cli('user:rebalance', '--yes', '--json', '--max-moves', '400')
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.json<PlanDocument>().moves, 400)
    const rest = await cli('user:rebalance', '--yes', '--json')
    await proxies
    assert.deepEqual(rest.json<PlanDocument>().result, {1: 225, 2: 225, 3: 450})
    const removed = await cli('backend:remove', 'd1.example.com', '--drain', '--yes', '--json')
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(removed.json<{removed: boolean}>().removed, true)
    const after = await rowsPerKey(db(), 'user')
    assert.deepEqual([after.total, after.doubles, after.byBackend['1']], [900, 0, undefined])
  })
})

forEachEngine('a rebalance killed mid-way', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})

  it('leaves a consistent database; running it again completes the job; a third run plans 0', async function () {
    this.timeout(180_000)
    for (const args of [['schema:init', '--mode', 'shard'], ['backend:add', 'k1.example.com', '--ip', '192.0.2.1'], ['backend:add', 'k2.example.com', '--ip', '192.0.2.2']]) {
      assert.equal((await cli(...args)).code, 0)
    }

    assert.equal((await cli('shard:fill', '--yes')).code, 0)
    assert.equal((await cli('backend:add', 'k3.example.com', '--ip', '192.0.2.3', '--weight', '200')).code, 0)
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'shard:rebalance', '--yes', '--batch-size', '40', '--pause', '25'], {
      env: {DIRECTORCTL_DB: db().url, HOME: cleanHome(), PATH: process.env.PATH},
      stdio: 'ignore',
    })
    await sleep(2500)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))

    const mid = await rowsPerKey(db(), 'user_hash')
    assert.deepEqual([mid.total, mid.doubles], [65_536, 0])
    assert.ok((mid.byBackend['3'] ?? 0) > 0 && mid.byBackend['3'] < 32_768, `killed too early or too late: ${JSON.stringify(mid.byBackend)}`)
    const again = await cli('shard:rebalance', '--yes', '--json')
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.json<PlanDocument>().result, {1: 16_384, 2: 16_384, 3: 32_768})
    assert.equal((await cli('shard:rebalance', '--yes', '--json')).json<PlanDocument>().moves, 0)
  })
})
