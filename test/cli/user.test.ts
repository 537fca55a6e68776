import {strict as assert} from 'node:assert'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {TABLES} from '../../src/db/schema.js'
import {shardOf} from '../../src/director/hash.js'
import {runCli} from '../helpers/cli.js'
import {forEachEngine} from '../helpers/engines.js'

const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-files-'))
const file = (name: string, text: string) => {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  return p
}

for (const mode of ['direct', 'shard'] as const) {
  forEachEngine(`directorctl user:* through bin/run.js, ${mode} mode`, ({db}) => {
    const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})
    const count = async () => {
      const conn = await db().connect()
      try {
        return Number((await conn.knex(TABLES.mapping).count({n: '*'}).first())?.n)
      } finally {
        await conn.close()
      }
    }

    before(async () => {
      for (const args of [['schema:init', '--mode', mode], ['backend:add', 'mail1.example.com', '--ip', '192.0.2.1'], ['backend:add', 'mail2.example.com', '--ip', '192.0.2.2'], ['backend:add', 'mail3.example.com', '--ip', '192.0.2.3', '--down']]) {
        const r = await cli(...args)
        assert.equal(r.code, 0, r.stderr)
      }
    })

    it('user:assign creates, then moves only with --yes when not on a terminal; user:show follows', async () => {
      const created = await cli('user:assign', 'Alice@Example.com', 'mail1.example.com', '--json')
      assert.equal(created.code, 0, created.stderr)
      const body = created.json<{user: string; outcome: string; shard?: number}>()
      assert.deepEqual([body.user, body.outcome], ['alice@example.com', 'created'])
      if (mode === 'shard') {
        assert.equal(body.shard, shardOf('alice@example.com'))
        assert.match((await cli('user:assign', 'alice@example.com', '1')).stdout, /shard \d+ \(alice@example\.com and every other user in it\)/)
      }

      const refused = await cli('user:assign', 'alice@example.com', '2')
      assert.equal(refused.code, 4)
      assert.match(refused.stderr, /--yes/)
      const moved = await cli('user:assign', 'alice@example.com', '2', '--yes', '--json')
      assert.deepEqual([moved.code, moved.json<{outcome: string; previous: {id: number}}>().outcome, moved.json<{previous: {id: number}}>().previous.id], [0, 'moved', 1])
      const show = (await cli('user:show', 'ALICE@example.com', '--json')).json<{user: string; mode: string; backend: {id: number; hostname: string; hostip: string; state: number}; shard?: number}>()
      assert.deepEqual(show.backend, {hostip: '192.0.2.2', hostname: 'mail2.example.com', id: 2, state: 0})
      assert.equal(show.mode, mode)
      assert.equal(show.shard, mode === 'shard' ? shardOf('alice@example.com') : undefined)
      const dry = await cli('user:assign', 'alice@example.com', '1', '--dry-run', '--json')
      assert.equal(dry.json<{dryRun: boolean}>().dryRun, true)
      assert.equal((await cli('user:show', 'alice@example.com', '--json')).json<{backend: {id: number}}>().backend.id, 2)
    })

    it('a down backend as target is allowed, with a warning', async () => {
      const r = await cli('user:assign', 'downer@example.com', 'mail3.example.com')
      assert.equal(r.code, 0)
      assert.match(r.stderr, /Warning: backend mail3\.example\.com is down/)
    })

    it('exit 3 for an unknown user or backend; unassign removes', async () => {
      assert.equal((await cli('user:show', 'nobody@example.com')).code, 3)
      assert.equal((await cli('user:unassign', 'nobody@example.com', '--yes')).code, 3)
      assert.equal((await cli('user:assign', 'bob@example.com', 'mail9.example.com')).code, 3)
      assert.equal((await cli('user:unassign', 'downer@example.com', '--yes')).code, 0)
      assert.equal((await cli('user:show', 'downer@example.com')).code, 3)
    })

    it('collapses several rows of one user/shard (published schema, hazard 3) into the one asked for', async () => {
      const conn = await db().connect()
      const key = mode === 'shard' ? shardOf('dup@example.com') : 'dup@example.com'
      const column = mode === 'shard' ? 'user_hash' : 'user'
      try {
        // The UNIQUE index prevents this state; a database created from the documentation has none.
        await conn.knex.schema.alterTable(TABLES.mapping, (t) => t.dropUnique([column], mode === 'shard' ? 'user_backend_user_hash_unique' : 'user_backend_user_unique'))
        await conn.knex(TABLES.mapping).insert([{backend_id: 1, [column]: key}, {backend_id: 2, [column]: key}])
        const show = await cli('user:show', 'dup@example.com', '--json')
        assert.equal(show.json<{rows: number[]}>().rows.length, 2)
        const r = await cli('user:assign', 'dup@example.com', '3', '--yes', '--json')
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.json<{collapsed: number}>().collapsed, 1)
        assert.deepEqual((await conn.knex(TABLES.mapping).where(column, key).pluck('backend_id')).map(Number), [3])
      } finally {
        await conn.knex(TABLES.mapping).where(column, key).delete()
        await conn.knex.schema.alterTable(TABLES.mapping, (t) => t.unique([column], {indexName: mode === 'shard' ? 'user_backend_user_hash_unique' : 'user_backend_user_unique'}))
        await conn.close()
      }
    })

    it('user:assign --file: a bad line is reported with its number and nothing is written', async () => {
      const before = await count()
      const bad = file(`bad-${mode}.csv`, 'user,backend\nf1@example.com,1\nf2@example.com,mail9.example.com\nf3@exa\u0001mple.com,2\nf4@example.com\n')
      const r = await cli('user:assign', '--file', bad, '--yes')
      assert.equal(r.code, 2)
      assert.match(r.stderr, /bad-\w+\.csv:3: no backend "mail9\.example\.com"/)
      assert.match(r.stderr, /:4: the user name contains a control character/)
      assert.match(r.stderr, /:5: expected 2 fields/)
      assert.equal(await count(), before)
      const conflict = file(`conflict-${mode}.tsv`, 'g1@example.com\t1\nG1@example.com\t2\n')
      const c = await cli('user:assign', '--file', conflict)
      assert.equal(c.code, 2)
      assert.match(c.stderr, /:2: g1@example\.com is already assigned to mail1\.example\.com on line 1/)
    })

    it('user:assign --file applies in batches; the same file again changes nothing', async () => {
      const users = Array.from({length: 120}, (_, i) => `bulk${i}@example.com`)
      const target = (u: string) => ((mode === 'shard' ? shardOf(u) : Number(u.slice(4, -12))) % 2) + 1
      const good = file(`good-${mode}.tsv`, users.map((u) => `${u}\t${target(u) === 1 ? 'mail1.example.com' : '2'}`).join('\n') + '\n')
      const first = await cli('user:assign', '--file', good, '--batch-size', '7', '--json')
      assert.equal(first.code, 0, first.stderr)
      const keys = new Set(users.map((u) => (mode === 'shard' ? shardOf(u) : u))).size
      assert.deepEqual([first.json<{created: number}>().created, first.json<{moved: number}>().moved], [keys, 0])
      const again = await cli('user:assign', '--file', good, '--json')
      assert.equal(again.code, 0)
      assert.equal(again.json<{changes: number}>().changes, 0)
      const flipped = file(`flip-${mode}.tsv`, users.map((u) => `${u}\t${3 - target(u)}`).join('\n'))
      assert.equal((await cli('user:assign', '--file', flipped)).code, 4, 'moves need --yes off a terminal')
      const moved = await cli('user:assign', '--file', flipped, '--yes', '--json')
      assert.equal(moved.json<{moved: number}>().moved, keys)
    })

    it('user:list lists users (direct) or explains why it cannot (shard)', async () => {
      const r = await cli('user:list', '--backend', 'mail2.example.com', '--json')
      assert.equal(r.code, 0, r.stderr)
      const rows = r.json<{user: string; backend: number}[]>()
      if (mode === 'direct') {
        assert.ok(rows.length > 10)
        assert.ok(rows.every((x) => x.backend === 2))
      } else {
        assert.deepEqual(rows, [])
        const text = await cli('user:list')
        assert.match(text.stderr, /Shard mode stores shards, not user names/)
      }

      const names = file(`names-${mode}.txt`, 'alice@example.com\nnobody@example.com\n')
      const fromFile = (await cli('user:list', '--users-file', names, '--json')).json<{user: string; backend: number | null}[]>()
      assert.deepEqual(fromFile.map((x) => [x.user, x.backend]), [['alice@example.com', 2], ['nobody@example.com', null]])
    })
  })
}
