/**
 * A simulated proxy: runs the published script's SQL (lookup, random up backend, INSERT,
 * retry on failure) for random users until its time is up. Run as its own process so that
 * SQLite's file locks behave as between real proxies.
 *
 *   node --import tsx test/helpers/fake-proxy.ts URL direct|shard MS USER...
 * Prints one JSON line: {"lookups": N, "inserts": N, "errors": N}.
 */
import {connect} from '../../src/db/connection.js'
import {parseDbUrl} from '../../src/db/target.js'
import {shardOf} from '../../src/director/hash.js'

const [url, mode, ms, ...users] = process.argv.slice(2)
const conn = await connect(parseDbUrl(url))
const {knex} = conn
const column = mode === 'shard' ? 'user_hash' : 'user'
const quoted = conn.dialect.engine === 'postgres' && mode === 'direct' ? '"user"' : column
const stats = {errors: 0, inserts: 0, lookups: 0}
const rowsOf = (r: unknown): Record<string, unknown>[] => {
  const x = r as {rows?: unknown[]} & unknown[]
  return (conn.dialect.engine === 'postgres' ? x.rows : conn.dialect.engine === 'mysql' ? x[0] : x) as Record<string, unknown>[]
}

const deadline = Date.now() + Number(ms)
while (Date.now() < deadline) {
  const user = users[Math.floor(Math.random() * users.length)]
  const key = mode === 'shard' ? shardOf(user) : user
  stats.lookups++
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = rowsOf(await knex.raw(`SELECT backends.id AS bid FROM backends JOIN user_backend ON backends.id = user_backend.backend_id WHERE user_backend.${column} = ?`, [key]))
      if (found.length > 0) break
      const up = rowsOf(await knex.raw('SELECT backends.id FROM backends WHERE state = 0'))
      if (up.length === 0) break
      const pick = Number(up[Math.floor(Math.random() * up.length)].id)
      try {
        await knex.raw(`INSERT INTO user_backend (backend_id, ${quoted}) VALUES(?, ?)`, [pick, key])
        stats.inserts++
        break
      } catch {
        // maybe it was a race: look again
      }
    }
  } catch {
    stats.errors++
  }
}

await conn.close()
process.stdout.write(`${JSON.stringify(stats)}\n`)
