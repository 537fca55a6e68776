/**
 * The CLI assigning and unassigning while simulated proxies read and insert in parallel:
 * afterwards no user or shard has two rows, and everything the CLI assigned is where it put it.
 */
import {strict as assert} from 'node:assert'
import {writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {initSchema, TABLES} from '../../src/db/schema.js'
import {Backends} from '../../src/director/backends.js'
import {shardOf} from '../../src/director/hash.js'
import {mappingFor} from '../../src/director/mapping.js'
import {runCli} from '../helpers/cli.js'
import {forEachEngine} from '../helpers/engines.js'
import {startFakeProxies} from '../helpers/proxies.js'

for (const mode of ['direct', 'shard'] as const) {
  forEachEngine(`CLI and simulated proxies at once, ${mode} mode`, ({db}) => {
    it('leaves one row per key, and the CLI\'s assignments where it put them', async function () {
      this.timeout(90_000)
      const conn = await db().connect()
      try {
        await initSchema(conn.knex, mode)
        const backends = new Backends(conn.knex, conn.dialect)
        for (const n of [1, 2, 3]) await backends.add({hostip: `192.0.2.${n}`, hostname: `mail${n}.example.com`})
        const users = Array.from({length: 300}, (_, i) => `user${i}@example.com`)
        // In shard mode users of one shard must go to one backend: derive the target from the key.
        const target = (user: string) => ((mode === 'shard' ? shardOf(user) : Number(user.slice(4, -12))) % 3) + 1
        const assigned = users.slice(0, 200)
        const file = path.join(tmpdir(), `directorctl-conc-${process.pid}-${mode}-${db().engine}.csv`)
        writeFileSync(file, assigned.map((u) => `${u},${target(u)}`).join('\n'))

        const proxies = startFakeProxies(db().url, mode, 3, 6000, users)
        const env = {DIRECTORCTL_DB: db().url}
        const bulk = await runCli(['user:assign', '--file', file, '--yes', '--batch-size', '25'], {env})
        assert.equal(bulk.code, 0, bulk.stderr + bulk.stdout)
        const unassigned = assigned.slice(0, 5)
        for (const u of unassigned) {
          const r = await runCli(['user:unassign', u, '--yes'], {env})
          assert.ok([0, 3].includes(r.code), r.stderr)
        }

        const moved = await runCli(['user:assign', assigned[5], '3', '--yes'], {env})
        assert.equal(moved.code, 0, moved.stderr)
        const stats = await proxies
        assert.ok(stats.every((s) => s.lookups > 10 && s.errors === 0), JSON.stringify(stats))

        const column = mode === 'shard' ? 'user_hash' : 'user'
        const doubles = await conn.knex(TABLES.mapping).select(column).count({n: '*'}).groupBy(column).having(conn.knex.raw('count(*) > 1'))
        assert.deepEqual(doubles, [])
        const mapping = mappingFor(mode, conn.knex, conn.dialect)
        const touched = new Set(unassigned.map((u) => mapping.keyOf(u)))
        const routes = await mapping.routesOf(assigned.map((u) => mapping.keyOf(u)))
        for (const u of assigned.slice(5)) {
          const key = mapping.keyOf(u)
          if (touched.has(key)) continue
          const expected = u === assigned[5] || (mode === 'shard' && key === mapping.keyOf(assigned[5])) ? 3 : target(u)
          assert.equal(routes.get(key), expected, `${u} (${mapping.describe(key)})`)
        }
      } finally {
        await conn.close()
      }
    })
  })
}
