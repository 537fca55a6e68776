import {strict as assert} from 'node:assert'

import type {Connection} from '../../src/db/connection.js'
import {RunLock} from '../../src/db/lock.js'
import {ensureToolTables, TABLES} from '../../src/db/schema.js'
import {LockedError} from '../../src/errors.js'
import {forEachEngine} from '../helpers/engines.js'

forEachEngine('run lock', ({db}) => {
  let conn: Connection
  before(async () => {
    conn = await db().connect()
    await ensureToolTables(conn.knex)
  })
  after(async () => conn?.close())
  afterEach(async () => conn.knex(TABLES.lock).delete())

  it('lets one run in and tells the second who holds it (exit 5)', async () => {
    const first = await RunLock.acquire(conn.knex, conn.dialect, {holder: 'alice running shard:rebalance'})
    const other = await db().connect()
    try {
      await assert.rejects(RunLock.acquire(other.knex, other.dialect, {holder: 'bob running user:assign'}), (error: LockedError) => {
        assert.equal(error.exit, 5)
        assert.match(error.message, /alice running shard:rebalance/)
        return true
      })
      await first.release()
      const second = await RunLock.acquire(other.knex, other.dialect, {holder: 'bob running user:assign'})
      await second.release()
    } finally {
      await other.close()
    }
  })

  it('waits for a lock that is released within --lock-wait', async () => {
    const first = await RunLock.acquire(conn.knex, conn.dialect, {holder: 'first'})
    setTimeout(() => void first.release(), 300)
    const second = await RunLock.acquire(conn.knex, conn.dialect, {holder: 'second', waitMs: 5000})
    assert.equal((await RunLock.read(conn.knex))?.holder, 'second')
    await second.release()
  })

  it('takes over the lock of a killed run once its heartbeat is stale', async () => {
    const old = Date.now() - 10 * 60_000
    await conn.knex(TABLES.lock).insert({acquired_at: old, heartbeat_at: old, holder: 'killed run', host: 'elsewhere', name: 'directorctl', pid: 1, token: 'x'})
    const lock = await RunLock.acquire(conn.knex, conn.dialect, {holder: 'new run'})
    assert.equal((await RunLock.read(conn.knex))?.holder, 'new run')
    await lock.release()
  })

  it('takes over at once when the holder process on this host is gone', async () => {
    const {hostname} = await import('node:os')
    await conn.knex(TABLES.lock).insert({acquired_at: Date.now(), heartbeat_at: Date.now(), holder: 'dead', host: hostname(), name: 'directorctl', pid: 2_147_483_000, token: 'y'})
    const lock = await RunLock.acquire(conn.knex, conn.dialect, {holder: 'alive'})
    await lock.release()
    assert.equal(await RunLock.read(conn.knex), undefined)
  })
})
