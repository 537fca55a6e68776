/**
 * knex's better-sqlite3 client, with write transactions that begin IMMEDIATE.
 *
 * knex starts every SQLite transaction with a plain BEGIN, which takes the write lock only at
 * the first write. When a proxy writes in between our read and our write, SQLite cannot wait
 * (it would deadlock) and fails at once with SQLITE_BUSY. BEGIN IMMEDIATE takes the write lock
 * up front, so our transactions wait their turn (busy_timeout) like any other writer.
 */
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
// knex has no typings or exports map for its dialect classes; these paths are stable in knex 3.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClass = new (...args: any[]) => any
const ClientBetterSqlite3: AnyClass = require('knex/lib/dialects/better-sqlite3/index.js')
const TransactionSqlite: AnyClass = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js')

class ImmediateTransaction extends TransactionSqlite {
  begin(conn: unknown) {
    return this.query(conn, 'BEGIN IMMEDIATE;')
  }
}

export class ImmediateSqliteClient extends ClientBetterSqlite3 {
  transaction(...args: unknown[]) {
    return new ImmediateTransaction(this, ...args)
  }
}
