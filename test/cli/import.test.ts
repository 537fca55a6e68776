/**
 * Migration from the 2.x director on every engine: the real director's outputs in every
 * format, placement checked against the host the real director hashed each user to.
 */
import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {TABLES} from '../../src/db/schema.js'
import {asciiLowercase, shardOf} from '../../src/director/hash.js'
import {cleanHome, ROOT, runCli} from '../helpers/cli.js'
import {createTestDatabase, forEachEngine, type TestDatabase} from '../helpers/engines.js'

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/director-2x')
const data = (name: string) => path.join(DATA, name)
const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-import-'))
const hashed = readFileSync(data('hashed.tsv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'))

async function placement(db: TestDatabase, column: string): Promise<Map<string, string>> {
  const conn = await db.connect()
  try {
    const rows = await conn.knex(TABLES.mapping).join(TABLES.backends, 'backends.id', 'user_backend.backend_id').select(`user_backend.${column} as k`, 'backends.hostip as ip')
    return new Map(rows.map((r) => [String(r.k), r.ip]))
  } finally {
    await conn.close()
  }
}

forEachEngine('import:director-tag, direct mode', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})
  before(async () => {
    assert.equal((await cli('schema:init', '--mode', 'direct')).code, 0)
  })

  it('bad input changes nothing: duplicate users with other tags, unknown tags (2), a tag with no up host (4)', async () => {
    const dup = path.join(dir, `dup-${db().engine}.tsv`)
    writeFileSync(dup, 'a@example.com\tgold\nb@example.com\t\nA@example.com\tsilver\nc@example.com\tplatinum\n')
    const r = await cli('import:director-tag', '--dump', data('dump.txt'), '--users', dup, '--yes')
    assert.equal(r.code, 2)
    assert.match(r.stderr, /dup-\w+\.tsv:3: a@example\.com has tag "silver" here but "gold" on line 1/)
    assert.match(r.stderr, /:4: tag "platinum": no host has it/)
    const silverDown = path.join(dir, 'status-silver-down.tab')
    writeFileSync(silverDown, readFileSync(data('status.tab'), 'utf8').replace('127.0.1.7\tsilver\t100\tup', '127.0.1.7\tsilver\t100\tdown'))
    const down = await cli('import:director-tag', '--status', silverDown, '--users', data('users-tags.tsv'), '--yes')
    assert.equal(down.code, 4)
    assert.match(down.stderr, /No host with tag "silver" is up/)
    assert.deepEqual((await cli('backend:list', '--json')).json(), [])
  })

  it('--dry-run reports counts and writes nothing; the same plan from text, tab and json inputs', async () => {
    const plans = []
    for (const ext of ['txt', 'tab', 'json']) {
      const r = await cli('import:director-tag', '--dump', data(`dump.${ext}`), '--status', data(`status.${ext}`), '--users', data('users-tags.tsv'), '--dry-run', '--json')
      assert.equal(r.code, 0, r.stderr)
      const doc = r.json<{users: number; changes: number; plan: unknown[]; after: Record<string, number>}>()
      assert.deepEqual([doc.users, doc.changes], [150, 150])
      plans.push(doc.plan)
    }

    assert.deepEqual(plans[1], plans[0])
    assert.deepEqual(plans[2], plans[0])
    assert.deepEqual((await cli('backend:list', '--json')).json(), [])
  })

  it('puts every user exactly where the 2.x director hashed it (hashed.tsv)', async () => {
    const r = await cli('import:director-tag', '--dump', data('dump.txt'), '--status', data('status.txt'), '--users', data('users-tags.tsv'), '--yes', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json<{backends: object}>().backends, {created: 7, updated: 0})
    const placed = await placement(db(), 'user')
    for (const [user, , ip] of hashed) assert.equal(placed.get(asciiLowercase(user)), ip, user)
    const backends = (await cli('backend:list', '--json')).json<{hostip: string; weight: number; tags: string[]; state: number}[]>()
    assert.deepEqual(backends.map((b) => [b.hostip, b.weight, b.tags.join(), b.state]), [
      ['127.0.1.1', 50, '', 0], ['127.0.1.2', 100, '', 0], ['127.0.1.3', 100, 'gold', 0], ['127.0.1.4', 100, 'gold', 0],
      ['127.0.1.5', 100, 'silver', 1], ['127.0.1.6', 150, 'gold', 0], ['127.0.1.7', 100, 'silver', 0],
    ])
    const again = await cli('import:director-tag', '--dump', data('dump.txt'), '--status', data('status.txt'), '--users', data('users-tags.tsv'), '--yes', '--json')
    assert.equal(again.json<{changes: number}>().changes, 0, 'a second import changes nothing')
  })

  it('users in --map keep their current host; import:director-map imports the placement alone', async () => {
    const r = await cli('import:director-tag', '--dump', data('dump.json'), '--status', data('status.json'), '--users', data('users-tags.tsv'), '--map', data('map.json'), '--yes', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json<{changedVsMap: number}>().changedVsMap, 0)
    const inFile = new Set(hashed.map(([u]) => asciiLowercase(u)))
    const map = readFileSync(data('map.tab'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'))
    let placed = await placement(db(), 'user')
    for (const [user, , ip] of map) if (inFile.has(user)) assert.equal(placed.get(user), ip, user)
    // The map also lists users that are not in the user file: import:director-map adds them.
    const fromMap = await cli('import:director-map', data('map.txt'), '--yes', '--json')
    assert.equal(fromMap.code, 0, fromMap.stderr)
    assert.equal(fromMap.json<{changes: number}>().changes, map.filter(([u]) => !inFile.has(u)).length)
    placed = await placement(db(), 'user')
    for (const [user, , ip] of map) assert.equal(placed.get(user), ip, user)
  })
})

forEachEngine('import:director-tag, shard mode', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})
  before(async () => {
    assert.equal((await cli('schema:init', '--mode', 'shard')).code, 0)
  })

  it('reports users of different tags in one shard; fails by default, majority places by the bigger tag', async () => {
    // Find two users in one shard, give them different tags.
    const byShard = new Map<number, string>()
    let pair: [string, string] | undefined
    for (let i = 0; !pair; i++) {
      const u = `clash${i}@example.com`
      const other = byShard.get(shardOf(u))
      if (other) pair = [other, u]
      else byShard.set(shardOf(u), u)
    }

    const users = path.join(dir, `clash-${db().engine}.tsv`)
    writeFileSync(users, `${readFileSync(data('users-tags.tsv'), 'utf8')}${pair[0]}\tgold\n${pair[1]}\tsilver\n`)
    const failed = await cli('import:director-tag', '--dump', data('dump.txt'), '--users', users, '--yes')
    assert.equal(failed.code, 4)
    assert.match(failed.stderr, new RegExp(`shard ${shardOf(pair[0])} mixes tags`))
    assert.match(failed.stderr, new RegExp(pair[1].replace('.', '\\.')))
    assert.deepEqual((await cli('backend:list', '--json')).json(), [], 'nothing written')
    const ok = await cli('import:director-tag', '--dump', data('dump.txt'), '--status', data('status.txt'), '--users', users, '--on-conflict', 'majority', '--yes', '--json')
    assert.equal(ok.code, 0, ok.stderr)
    const doc = ok.json<{conflicts: {shard: number}[]; usersChangingServer: number; rule: string}>()
    assert.ok(doc.conflicts.some((c) => c.shard === shardOf(pair![0])))
    assert.equal(typeof doc.usersChangingServer, 'number')
    assert.match(doc.rule, /most of its users/)
    // A shard with one user goes exactly where the 2.x director sent that user.
    const placed = await placement(db(), 'user_hash')
    const users1 = new Map<number, string[]>()
    for (const [user] of hashed) users1.set(shardOf(asciiLowercase(user)), [...(users1.get(shardOf(asciiLowercase(user))) ?? []), user])
    for (const [user, , ip] of hashed) if (users1.get(shardOf(asciiLowercase(user)))!.length === 1 && user !== pair[0] && user !== pair[1]) assert.equal(placed.get(String(shardOf(asciiLowercase(user)))), ip, user)
  })
})

forEachEngine('export and import:csv', ({db}) => {
  it('round trip: export, import into an empty database, export again: identical (CSV and JSON)', async function () {
    this.timeout(60_000)
    const cli = (url: string, ...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: url}})
    const src = db().url
    for (const args of [['schema:init', '--mode', 'direct'], ['backend:add', 'a.example.com', '--ip', '192.0.2.1', '--tag', 'gold', '--tag', 'ssd'], ['backend:add', 'b.example.com', '--ip', '192.0.2.2', '--weight', '250', '--down']]) {
      assert.equal((await cli(src, ...args)).code, 0)
    }

    const users = path.join(dir, `rt-${db().engine}.csv`)
    writeFileSync(users, Array.from({length: 1200}, (_, i) => `"user,${i}@example.com",${(i % 2) + 1}`).join('\n'))
    assert.equal((await cli(src, 'user:assign', '--file', users)).code, 0)
    const exported = await cli(src, 'export')
    assert.equal(exported.code, 0, exported.stderr)
    const jsonExport = await cli(src, 'export', '--format', 'json')
    JSON.parse(jsonExport.stdout)
    for (const [name, text] of [['csv', exported.stdout], ['json', jsonExport.stdout]]) {
      const target = await createTestDatabase(db().engine)
      try {
        const file = path.join(dir, `export-${db().engine}.${name}`)
        writeFileSync(file, text)
        assert.equal((await cli(target.url, 'schema:init', '--mode', 'direct')).code, 0)
        const imported = await cli(target.url, 'import:csv', file, '--yes', '--json', '--batch-size', '500')
        assert.equal(imported.code, 0, imported.stderr)
        assert.equal(imported.json<{created: number}>().created, 1200)
        assert.equal((await cli(target.url, 'export')).stdout, exported.stdout, `${name} round trip`)
      } finally {
        await target.drop()
      }
    }

    const bad = path.join(dir, `bad-${db().engine}.csv`)
    writeFileSync(bad, 'backend,9,bad host,192.0.2.9,0,100,\nmapping,x@example.com,77\n')
    const refused = await cli(src, 'import:csv', bad, '--yes')
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /bad-\w+\.csv:1: Invalid hostname/)
    assert.match(refused.stderr, /:2: no backend "77"/)
  })

  it('a killed import run again finishes without duplicates', async function () {
    this.timeout(120_000)
    const target = await createTestDatabase(db().engine)
    try {
      const env = {DIRECTORCTL_DB: target.url}
      assert.equal((await runCli(['schema:init', '--mode', 'direct'], {env})).code, 0)
      const users = path.join(dir, `big-${db().engine}.tsv`)
      writeFileSync(users, Array.from({length: 150_000}, (_, i) => `user${i}@example.net\t`).join('\n'))
      const args = [path.join(ROOT, 'bin/run.js'), 'import:director-tag', '--dump', data('dump.txt'), '--users', users, '--yes', '--batch-size', '300']
      const child = spawn(process.execPath, args, {env: {...env, HOME: cleanHome(), PATH: process.env.PATH}, stdio: 'ignore'})
      const exited = new Promise((resolve) => child.once('exit', resolve))
      const conn = await target.connect()
      try {
        const rows = async () => Number((await conn.knex(TABLES.mapping).count({n: '*'}).first())?.n)
        // Kill it once some batches have committed.
        let seen = 0
        for (let i = 0; i < 600 && child.exitCode === null && seen === 0; i++) {
          await sleep(20)
          seen = await rows().catch(() => 0)
        }

        child.kill('SIGKILL')
        await exited
        const mid = await rows()
        assert.ok(mid > 0 && mid < 150_000, `killed at ${mid} rows`)
        const again = await runCli(args.slice(1), {env})
        assert.equal(again.code, 0, again.stderr)
        assert.equal(await rows(), 150_000)
        const doubles = await conn.knex(TABLES.mapping).select('user').groupBy('user').having(conn.knex.raw('count(*) > 1'))
        assert.deepEqual(doubles, [])
      } finally {
        await conn.close()
      }
    } finally {
      await target.drop()
    }
  })
})
