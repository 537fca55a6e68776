/**
 * Every doctor finding from a database built in the bad state on each engine, and
 * schema:upgrade fixing tables created exactly as the documentation shows, while simulated
 * proxies keep working.
 */
import {strict as assert} from 'node:assert'

import type {Connection} from '../../src/db/connection.js'
import {initSchema, TABLES} from '../../src/db/schema.js'
import {Backends} from '../../src/director/backends.js'
import {runDoctor} from '../../src/director/doctor.js'
import {shardOf} from '../../src/director/hash.js'
import {mappingFor} from '../../src/director/mapping.js'
import {runCli} from '../helpers/cli.js'
import {forEachEngine} from '../helpers/engines.js'
import {createPublishedSchema, dropAll} from '../helpers/fixtures.js'
import {startFakeProxies} from '../helpers/proxies.js'

forEachEngine('doctor', ({db, engine}) => {
  let conn: Connection
  before(async () => {
    conn = await db().connect()
  })
  after(async () => conn?.close())
  beforeEach(async () => dropAll(conn.knex))

  const checks = async () => (await runDoctor(conn, {imbalance: 0.1, lowercase: true})).findings.map((f) => `${f.severity} ${f.check}`).sort()
  const pgDirect = (mode: string) => (engine === 'postgres' && mode === 'direct' ? ['WARNING postgres-direct'] : [])

  it('a healthy direct-mode database is clean', async () => {
    await initSchema(conn.knex, 'direct')
    const backends = new Backends(conn.knex, conn.dialect)
    await backends.add({hostip: '192.0.2.1', hostname: 'mail1.example.com'})
    await mappingFor('direct', conn.knex, conn.dialect).assign('alice@example.com', 1)
    assert.deepEqual(await checks(), pgDirect('direct'))
  })

  it('finds the documentation\'s shard schema: no state (critical), no unique index, no tool tables, unfilled shards', async () => {
    await createPublishedSchema(conn.knex, engine, 'shard')
    await conn.knex(TABLES.backends).insert({hostip: '192.0.2.1', hostname: 'mail1.example.com', id: 1})
    assert.deepEqual(await checks(), ['CRITICAL state-column', 'WARNING tool-tables', 'WARNING unfilled-shards', 'WARNING unique-index'])
  })

  it('finds duplicate rows, rows of missing backends, and no backend up', async () => {
    await createPublishedSchema(conn.knex, engine, 'direct')
    await conn.knex(TABLES.backends).insert([{hostip: '192.0.2.1', hostname: 'a.example.com', id: 1, state: 1}, {hostip: '192.0.2.2', hostname: 'b.example.com', id: 2, state: 1}])
    await conn.knex(TABLES.mapping).insert([{backend_id: 1, user: 'x@example.com'}, {backend_id: 2, user: 'x@example.com'}, {backend_id: 7, user: 'y@example.com'}])
    assert.deepEqual(await checks(), [
      'CRITICAL missing-backend', 'CRITICAL no-up-backend', 'WARNING duplicate-rows', 'WARNING tool-tables', 'WARNING unique-index', ...pgDirect('direct'),
    ].sort())
  })

  it('finds backends without hostip next to ones with it, and upper-case user names', async () => {
    await initSchema(conn.knex, 'direct')
    await conn.knex(TABLES.backends).insert([{hostip: '192.0.2.1', hostname: 'a.example.com', id: 1}, {hostip: null, hostname: 'b.example.com', id: 2}])
    await conn.knex(TABLES.mapping).insert([{backend_id: 1, user: 'Bob@Example.com'}, {backend_id: 2, user: 'carol@example.com'}])
    const found = await checks()
    assert.ok(found.includes('CRITICAL hostip-mixed'), found.join())
    assert.ok(found.includes('WARNING uppercase-users'), found.join())
  })

  it('finds imbalance against weights and a stale run lock', async () => {
    await initSchema(conn.knex, 'shard')
    const backends = new Backends(conn.knex, conn.dialect)
    await backends.add({hostip: '192.0.2.1', hostname: 'a.example.com'})
    await backends.add({hostip: '192.0.2.2', hostname: 'b.example.com'})
    const rows = Array.from({length: 65_536}, (_, shard) => ({backend_id: shard < 50_000 ? 1 : 2, user_hash: shard}))
    for (let i = 0; i < rows.length; i += 400) await conn.knex(TABLES.mapping).insert(rows.slice(i, i + 400))
    const old = Date.now() - 3_600_000
    await conn.knex(TABLES.lock).insert({acquired_at: old, heartbeat_at: old, holder: 'root running shard:rebalance', host: 'elsewhere', name: 'directorctl', pid: 4242, token: 't'})
    assert.deepEqual(await checks(), ['WARNING imbalance', 'WARNING stale-lock'])
  })

  it('exit codes as Nagios: 0, 1, 2 and 3 (cannot connect)', async () => {
    await initSchema(conn.knex, 'direct')
    await new Backends(conn.knex, conn.dialect).add({hostip: '192.0.2.1', hostname: 'a.example.com'})
    const ok = await runCli(['doctor', '--db', db().url])
    assert.equal(ok.code, engine === 'postgres' ? 1 : 0, ok.stdout)
    assert.match(ok.stdout, /^DIRECTORCTL (OK|WARNING) - /)
    await conn.knex(TABLES.backends).update({state: 1})
    const critical = await runCli(['doctor', '--db', db().url, '--json'])
    assert.equal(critical.code, 2)
    assert.equal(critical.json<{status: string}>().status, 'CRITICAL')
    const unknown = await runCli(['doctor', '--db', 'postgres://x@127.0.0.1:1/none'])
    assert.equal(unknown.code, 3)
    assert.match(unknown.stdout, /^DIRECTORCTL UNKNOWN/)
  })
})

for (const mode of ['direct', 'shard'] as const) {
  forEachEngine(`schema:upgrade on the documentation's ${mode} tables, proxies running`, ({db, engine}) => {
    it('refuses while duplicates exist, then keeps the routed row of each, adds what is missing, and doctor is clean', async function () {
      this.timeout(120_000)
      const conn = await db().connect()
      try {
        await createPublishedSchema(conn.knex, engine, mode)
        const column = mode === 'shard' ? 'user_hash' : 'user'
        await conn.knex(TABLES.backends).insert([1, 2, 3].map((id) => ({hostip: `192.0.2.${id}`, hostname: `m${id}.example.com`, id})))
        const users = Array.from({length: 300}, (_, i) => `u${i}@example.com`)
        const key = (u: string) => (mode === 'shard' ? shardOf(u) : u)
        const keys = [...new Set(users.map(key))]
        await conn.knex(TABLES.mapping).insert(keys.map((k, i) => ({backend_id: (i % 3) + 1, [column]: k})))
        // Duplicates, as racing proxies make them without the unique index.
        const dupKeys = keys.slice(0, 10)
        await conn.knex(TABLES.mapping).insert(dupKeys.map((k, i) => ({backend_id: ((i + 1) % 3) + 1, [column]: k})))
        const mapping = mappingFor(mode, conn.knex, conn.dialect)
        const routedBefore = await mapping.routesOf(keys)
        const env = {DIRECTORCTL_DB: db().url}

        const refused = await runCli(['schema:upgrade', '--yes'], {env})
        assert.equal(refused.code, 4, refused.stderr)
        assert.match(refused.stderr, /10 (user|shard)\(s\) have several rows/)
        assert.equal(await conn.knex.schema.hasTable(TABLES.backendMeta), false, 'nothing changed')

        const dry = await runCli(['schema:upgrade', '--dry-run'], {env})
        assert.match(dry.stdout, /UNIQUE/)
        const proxies = startFakeProxies(db().url, mode, 2, 3000, users.slice(0, 200))
        const fixed = await runCli(['schema:upgrade', '--resolve-duplicates', 'current', '--yes', '--json'], {env})
        await proxies
        assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout)
        assert.equal(fixed.json<{resolved: number}>().resolved, 10)
        const routedAfter = await mapping.routesOf(keys)
        for (const k of keys) assert.equal(routedAfter.get(k), routedBefore.get(k), `${k} moved`)
        const doubles = await conn.knex(TABLES.mapping).select(column).groupBy(column).having(conn.knex.raw('count(*) > 1'))
        assert.deepEqual(doubles, [])

        if (mode === 'shard') assert.equal((await runCli(['shard:fill', '--yes'], {env})).code, 0)
        const doctor = await runCli(['doctor', '--json'], {env})
        const findings = doctor.json<{findings: {check: string}[]}>().findings.map((f) => f.check)
        assert.deepEqual(findings.filter((c) => c !== 'imbalance'), engine === 'postgres' && mode === 'direct' ? ['postgres-direct'] : [])
        const again = await runCli(['schema:upgrade'], {env})
        assert.equal(again.code, 0)
        assert.match(again.stdout, /up to date/)
      } finally {
        await conn.close()
      }
    })
  })
}
