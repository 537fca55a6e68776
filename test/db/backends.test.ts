import {strict as assert} from 'node:assert'

import type {Connection} from '../../src/db/connection.js'
import {initSchema, TABLES} from '../../src/db/schema.js'
import {Backends} from '../../src/director/backends.js'
import {mappingFor} from '../../src/director/mapping.js'
import {InputError, NotFoundError, RefusedError} from '../../src/errors.js'
import {forEachEngine} from '../helpers/engines.js'
import {dropAll} from '../helpers/fixtures.js'

for (const mode of ['direct', 'shard'] as const) {
  forEachEngine(`backends, ${mode} mode`, ({db, engine}) => {
    let conn: Connection
    let backends: Backends
    before(async () => {
      conn = await db().connect()
    })
    after(async () => conn?.close())
    beforeEach(async () => {
      await dropAll(conn.knex)
      await initSchema(conn.knex, mode)
      backends = new Backends(conn.knex, conn.dialect)
    })

    it('adds with the next free id, weight 100 and state up by default', async () => {
      const a = await backends.add({hostip: '192.0.2.1', hostname: 'Mail1.Example.com'})
      const b = await backends.add({hostip: '2001:db8::2', hostname: 'mail2.example.com', tags: ['gold', 'a'], weight: 250})
      assert.deepEqual([a.id, a.hostname, a.hostip, a.state, a.weight, a.tags], [1, 'mail1.example.com', '192.0.2.1', 0, 100, []])
      assert.deepEqual([b.id, b.weight, b.tags], [2, 250, ['a', 'gold']])
      const c = await backends.add({hostip: '192.0.2.9', hostname: 'mail9.example.com', id: 9, state: 1})
      assert.equal(c.state, 1)
      assert.equal(c.downBy, 'operator')
      assert.equal((await backends.add({hostip: '192.0.2.10', hostname: 'mail10.example.com'})).id, 10)
      assert.deepEqual((await backends.list()).map((x) => x.id), [1, 2, 9, 10])
    })

    it('never gives two concurrent adds the same id', async function () {
      // Separate connections, as separate runs would have. (SQLite waits for its write lock by
      // blocking the thread, so concurrent SQLite writers are tested as processes in test/cli.)
      if (engine === 'sqlite') this.skip()
      const conns = await Promise.all(Array.from({length: 6}, () => db().connect()))
      try {
        const added = await Promise.all(conns.map((c, i) => new Backends(c.knex, c.dialect).add({hostip: `192.0.2.${i + 1}`, hostname: `mail${i}.example.com`})))
        assert.equal(new Set(added.map((b) => b.id)).size, 6)
      } finally {
        await Promise.all(conns.map((c) => c.close()))
      }

      assert.equal((await backends.list()).length, 6)
    })

    it('finds by id or host name, and says when there is none', async () => {
      await backends.add({hostip: '192.0.2.1', hostname: 'mail1.example.com'})
      assert.equal((await backends.find('1')).hostname, 'mail1.example.com')
      assert.equal((await backends.find('MAIL1.example.com')).id, 1)
      await assert.rejects(backends.find('mail7.example.com'), NotFoundError)
      await assert.rejects(backends.find('7'), NotFoundError)
    })

    it('refuses a duplicate host name or id (exit 4) and bad input (exit 2)', async () => {
      await backends.add({hostip: '192.0.2.1', hostname: 'mail1.example.com'})
      await assert.rejects(backends.add({hostip: '192.0.2.2', hostname: 'MAIL1.example.com'}), RefusedError)
      await assert.rejects(backends.add({hostip: '192.0.2.2', hostname: 'mail2.example.com', id: 1}), RefusedError)
      await assert.rejects(backends.add({hostip: '192.0.2.300', hostname: 'mail2.example.com'}), InputError)
      await assert.rejects(backends.add({hostip: '192.0.2.3', hostname: 'mail_2.example.com'}), InputError)
      await assert.rejects(backends.add({hostip: '192.0.2.3', hostname: 'mail2.example.com', weight: -1}), InputError)
      await assert.rejects(backends.add({hostip: '192.0.2.3', hostname: 'mail2.example.com', tags: ['no spaces']}), InputError)
      assert.equal((await backends.list()).length, 1)
    })

    it('updates address, weight and tags, and sets state with who did it', async () => {
      const a = await backends.add({hostip: '192.0.2.1', hostname: 'mail1.example.com'})
      const updated = await backends.update(a.id, {hostip: '192.0.2.11', hostname: 'mail1b.example.com', tags: ['x'], weight: 0})
      assert.deepEqual([updated.hostname, updated.hostip, updated.weight, updated.tags], ['mail1b.example.com', '192.0.2.11', 0, ['x']])
      const down = await backends.setState(a.id, false, 'check')
      assert.deepEqual([down.state, down.downBy], [1, 'check'])
      const up = await backends.setState(a.id, true)
      assert.deepEqual([up.state, up.downBy], [0, null])
    })

    it('treats a backend inserted by hand (no weight row) as weight 100', async () => {
      await conn.knex(TABLES.backends).insert({hostip: '192.0.2.5', hostname: 'legacy.example.com', id: 5})
      const [legacy] = await backends.list()
      assert.deepEqual([legacy.weight, legacy.tags], [100, []])
      assert.equal((await backends.update(5, {weight: 300})).weight, 300)
    })

    it('refuses to remove a backend that has mappings, and removes an empty one', async () => {
      const a = await backends.add({hostip: '192.0.2.1', hostname: 'mail1.example.com'})
      const b = await backends.add({hostip: '192.0.2.2', hostname: 'mail2.example.com'})
      const mapping = mappingFor(mode, conn.knex, conn.dialect)
      await mapping.assign(mapping.keyOf('alice@example.com'), a.id)
      await assert.rejects(backends.remove(a.id, () => mapping.countFor(a.id)), RefusedError)
      assert.equal((await backends.find('1')).state, 0, 'a refused remove changes nothing')
      await backends.remove(b.id, () => mapping.countFor(b.id))
      assert.deepEqual((await backends.list()).map((x) => x.id), [1])
      assert.equal(await conn.knex(TABLES.backendMeta).where('backend_id', b.id).first(), undefined)
    })
  })
}
