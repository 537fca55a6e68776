/** Database states for tests: the documentation's own SQL, and a clean slate. */
import type {Knex} from 'knex'

import {TABLES} from '../../src/db/schema.js'
import type {EngineName} from './engines.js'

/**
 * The tables exactly as the "Run director with Lua on proxy" page creates them (no state column
 * in shard mode, no unique index). PostgreSQL cannot create an unquoted `user` column, so the
 * operator there had to quote it (hazard 2).
 */
export async function createPublishedSchema(knex: Knex, engine: EngineName, mode: 'direct' | 'shard'): Promise<void> {
  const user = engine === 'postgres' ? '"user"' : 'user'
  if (mode === 'direct') {
    await knex.raw(`CREATE TABLE backends (
       id int not null primary key,
       hostname varchar(255) not null unique,
       hostip varchar(255),
       state smallint not null default 0
    )`)
    await knex.raw(`CREATE TABLE user_backend (
       backend_id int not null,
       ${user} varchar(255),
       primary key(backend_id, ${user})
    )`)
  } else {
    await knex.raw(`CREATE TABLE backends (
       id INT NOT NULL PRIMARY KEY,
       hostname VARCHAR(255) NOT NULL,
       hostip VARCHAR(255)
    )`)
    await knex.raw(`CREATE TABLE user_backend (
       backend_id INT NOT NULL,
       user_hash INT NOT NULL,
       PRIMARY KEY (backend_id, user_hash)
    )`)
  }
}

export async function dropAll(knex: Knex): Promise<void> {
  for (const table of [TABLES.mapping, TABLES.backends, TABLES.backendMeta, TABLES.lock, TABLES.history]) {
    await knex.schema.dropTableIfExists(table)
  }
}
