import {strict as assert} from 'node:assert'

import type {Connection} from '../../src/db/connection.js'
import {detectMode, initSchema, TABLES} from '../../src/db/schema.js'
import {DatabaseError, RefusedError} from '../../src/errors.js'
import {forEachEngine} from '../helpers/engines.js'
import {createPublishedSchema, dropAll} from '../helpers/fixtures.js'

forEachEngine('schema', ({db, engine}) => {
  let conn: Connection
  before(async () => {
    conn = await db().connect()
  })
  after(async () => conn?.close())
  afterEach(async () => dropAll(conn.knex))

  for (const mode of ['direct', 'shard'] as const) {
    it(`schema:init --mode ${mode} creates the published tables, idempotently`, async () => {
      const first = await initSchema(conn.knex, mode)
      assert.ok(first.some((c) => c.what === 'create table backends'))
      assert.equal(await detectMode(conn.knex), mode)
      const second = await initSchema(conn.knex, mode)
      assert.deepEqual(second, [])
      const backendCols = Object.keys(await conn.knex(TABLES.backends).columnInfo()).sort()
      assert.deepEqual(backendCols, ['hostip', 'hostname', 'id', 'state'])
      const mappingCols = Object.keys(await conn.knex(TABLES.mapping).columnInfo()).sort()
      assert.deepEqual(mappingCols, mode === 'direct' ? ['backend_id', 'user'] : ['backend_id', 'user_hash'])
    })

    it(`the ${mode} tables accept exactly the published scripts' SQL`, async () => {
      await initSchema(conn.knex, mode)
      const column = mode === 'direct' ? 'user' : 'user_hash'
      const key = mode === 'direct' ? 'alice@example.com' : 20_926
      await conn.knex.raw('INSERT INTO backends (id, hostname, hostip) VALUES (1, ?, ?)', ['mail1.example.com', '192.0.2.1'])
      // The scripts write `user` unquoted; on PostgreSQL only a quoted column works (hazard 2).
      const q = engine === 'postgres' ? `"${column}"` : column
      await conn.knex.raw(`INSERT INTO user_backend (backend_id, ${q}) VALUES (?, ?)`, [1, key])
      const rows = await conn.knex.raw(`SELECT backends.id AS bid FROM backends JOIN user_backend ON backends.id = user_backend.backend_id WHERE user_backend.${column} = ?`, [key])
      const list = engine === 'postgres' ? rows.rows : engine === 'mysql' ? rows[0] : rows
      assert.equal(Number(list[0].bid), 1)
      const up = await conn.knex.raw('SELECT backends.id FROM backends WHERE state = 0')
      assert.ok(up)
      // The unique index makes a second row for the same key fail, so the script retries its SELECT.
      await conn.knex.raw('INSERT INTO backends (id, hostname, hostip) VALUES (2, ?, ?)', ['mail2.example.com', '192.0.2.2'])
      await assert.rejects(conn.knex.raw(`INSERT INTO user_backend (backend_id, ${q}) VALUES (?, ?)`, [2, key]))
    })
  }

  it('refuses to init the other mode over an existing schema, changing nothing', async () => {
    await initSchema(conn.knex, 'direct')
    await assert.rejects(initSchema(conn.knex, 'shard'), RefusedError)
    assert.equal(await detectMode(conn.knex), 'direct')
  })

  it('detects the mode of tables created from the documentation', async () => {
    await createPublishedSchema(conn.knex, engine, 'shard')
    assert.equal(await detectMode(conn.knex), 'shard')
    await dropAll(conn.knex)
    await createPublishedSchema(conn.knex, engine, 'direct')
    assert.equal(await detectMode(conn.knex), 'direct')
  })

  it('reports a missing or foreign schema as a database error (exit 6)', async () => {
    await assert.rejects(detectMode(conn.knex), (error: DatabaseError) => error.exit === 6 && /schema:init/.test(error.suggestions.join(' ')))
    await conn.knex.schema.createTable('backends', (t) => t.integer('nothing'))
    await conn.knex.schema.createTable('user_backend', (t) => t.integer('other'))
    await assert.rejects(detectMode(conn.knex), DatabaseError)
  })
})
