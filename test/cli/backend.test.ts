import {strict as assert} from 'node:assert'

import {forEachEngine} from '../helpers/engines.js'
import {runCli} from '../helpers/cli.js'

for (const mode of ['direct', 'shard'] as const) {
  forEachEngine(`directorctl backend:* through bin/run.js, ${mode} mode`, ({db}) => {
    const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})

    it('schema:init, backend:add, then backend:list --json in the contract shape', async () => {
      const init = await cli('schema:init', '--mode', mode, '--json')
      assert.equal(init.code, 0, init.stderr)
      assert.equal(init.json<{mode: string}>().mode, mode)
      assert.equal((await cli('backend:add', 'mail1.example.com', '--ip', '192.0.2.11')).code, 0)
      const added = await cli('backend:add', 'mail2.example.com', '--ip', '192.0.2.12', '--weight', '300', '--tag', 'gold', '--json')
      assert.equal(added.code, 0, added.stderr)
      assert.equal(added.json<{id: number}>().id, 2)
      const list = await cli('backend:list', '--json')
      assert.equal(list.code, 0, list.stderr)
      const rows = list.json<Record<string, unknown>[]>()
      assert.equal(rows.length, 2)
      for (const key of ['id', 'hostname', 'hostip', 'state', 'weight', 'tags', 'assigned']) assert.ok(key in rows[0], key)
      assert.deepEqual(rows[1], {...rows[1], assigned: 0, hostip: '192.0.2.12', hostname: 'mail2.example.com', id: 2, state: 0, tags: ['gold'], weight: 300})
    })

    it('shows, updates, sets down and up, and removes a backend', async () => {
      const show = await cli('backend:show', 'mail2.example.com', '--json')
      assert.equal(show.json<{id: number}>().id, 2)
      const update = await cli('backend:update', '2', '--weight', '150', '--ip', '192.0.2.22', '--json')
      assert.deepEqual([update.code, update.json<{weight: number}>().weight], [0, 150])
      const down = await cli('backend:down', '2', '--json')
      assert.deepEqual([down.code, down.json<{state: number}>().state], [0, 1])
      const up = await cli('backend:up', 'mail2.example.com')
      assert.equal(up.code, 0)
      assert.match(up.stdout, /is up/)
      assert.equal((await cli('backend:remove', '2')).code, 0)
      assert.deepEqual((await cli('backend:list', '--json')).json<{id: number}[]>().map((b) => b.id), [1])
    })

    it('exit 3 for an unknown backend, 4 for a duplicate hostname, 2 for a bad hostname or IP', async () => {
      const unknown = await cli('backend:show', 'nosuch.example.com')
      assert.equal(unknown.code, 3)
      assert.match(unknown.stderr, /No backend "nosuch\.example\.com"/)
      assert.ok(!unknown.stderr.includes('    at '), 'no stack trace')
      assert.equal((await cli('backend:add', 'MAIL1.example.com', '--ip', '192.0.2.99')).code, 4)
      assert.equal((await cli('backend:add', 'bad_host!', '--ip', '192.0.2.99')).code, 2)
      const badIp = await cli('backend:add', 'mail5.example.com', '--ip', '192.0.2.999', '--json')
      assert.equal(badIp.code, 2)
      assert.match(badIp.json<{error: {message: string}}>().error.message, /Invalid IP address/)
      assert.equal((await cli('backend:list', '--json')).json<unknown[]>().length, 1)
    })

    it('concurrent backend:add runs get distinct ids', async () => {
      const results = await Promise.all([3, 4, 5, 6].map((n) => cli('backend:add', `mail${n}.example.com`, '--ip', `192.0.2.${n}`, '--json')))
      for (const r of results) assert.equal(r.code, 0, r.stderr)
      const ids = results.map((r) => r.json<{id: number}>().id)
      assert.equal(new Set(ids).size, 4)
    })
  })
}
