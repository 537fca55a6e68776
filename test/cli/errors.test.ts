import {strict as assert} from 'node:assert'

import {enabledEngines, forEachEngine, serverFor} from '../helpers/engines.js'
import {runCli} from '../helpers/cli.js'
import {freePort, TEST_PASSWORD} from '../helpers/servers.js'

describe('directorctl failures: exit codes and messages', () => {
  it('malformed --db URL: exit 2', async () => {
    const r = await runCli(['backend:list', '--db', 'oracle://x/y'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Invalid --db URL/)
  })

  it('--json errors are one JSON document on stdout with the exit code', async () => {
    const r = await runCli(['backend:list', '--db', 'mysql:nohost', '--json'])
    assert.equal(r.code, 2)
    assert.deepEqual(Object.keys(r.json<{error: object}>().error).sort(), ['code', 'exit', 'message', 'suggestions'])
  })

  it('unknown flag: exit 2', async () => {
    assert.equal((await runCli(['backend:list', '--no-such-flag'])).code, 2)
    assert.equal((await runCli(['backend:add', 'x.example.com', '--weight', 'heavy'])).code, 2)
  })

  it('user names over 255 bytes or with control characters: exit 2', async () => {
    assert.equal((await runCli(['hash', 'a'.repeat(256)])).code, 2)
    const control = await runCli(['hash', 'bob\u0007@example.com', '--json'])
    assert.equal(control.code, 2)
    assert.match(control.json<{error: {message: string}}>().error.message, /control character/)
  })

  it('hash: shard and 2.x hash, lowercased by default', async () => {
    const r = await runCli(['hash', 'Alice@Example.com', '--json'])
    assert.deepEqual(r.json(), [{crc32: 211_898_814, director2Hash: r.json<{director2Hash: number}[]>()[0].director2Hash, shard: 20_926, user: 'alice@example.com'}])
    const keep = await runCli(['hash', 'Alice@Example.com', '--no-lowercase', '--json'])
    assert.equal(keep.json<{user: string}[]>()[0].user, 'Alice@Example.com')
  })

  it('SQLite file that does not exist: exit 6 with a hint to run schema:init', async () => {
    const r = await runCli(['backend:list', '--db', 'sqlite:/nonexistent/dir/x.db'])
    assert.equal(r.code, 6)
    assert.match(r.stderr, /schema:init/)
  })

  for (const engine of enabledEngines().filter((e) => e !== 'sqlite')) {
    const scheme = engine === 'mysql' ? 'mysql' : 'postgres'

    it(`${engine}: unreachable server: exit 6`, async () => {
      const port = await freePort()
      const r = await runCli(['backend:list', '--db', `${scheme}://directorctl@127.0.0.1:${port}/x`])
      assert.equal(r.code, 6)
      assert.match(r.stderr, /connection refused/)
    })

    it(`${engine}: wrong password: exit 6, and the password is never printed`, async () => {
      const server = await serverFor(engine as 'mysql' | 'postgres')
      const secret = 'Wr0ngPassw0rd-xyzzy'
      for (const [args, env] of [
        [['backend:list', '--db', `${scheme}://directorctl:${secret}@127.0.0.1:${server.port}/postgres`], {}],
        [['backend:list', '--json', '--db', `${scheme}://directorctl@127.0.0.1:${server.port}/postgres`], {DIRECTORCTL_DB_PASSWORD: secret}],
        [['backend:list', '--verbose', '--db', `${scheme}://directorctl@127.0.0.1:${server.port}/postgres`], {DIRECTORCTL_DB_PASSWORD: secret}],
      ] as const) {
        const r = await runCli([...args], {env: {...env}})
        assert.equal(r.code, 6, r.stderr + r.stdout)
        assert.match(r.stderr + r.stdout, /wrong user or password/)
        assert.ok(!(r.stdout + r.stderr).includes(secret), 'password leaked')
        assert.ok(!(r.stdout + r.stderr).includes(TEST_PASSWORD), 'password leaked')
      }
    })
  }
})

forEachEngine('directorctl on a database without the tables', ({db}) => {
  it('exit 6 and a hint to run schema:init', async () => {
    const r = await runCli(['backend:list', '--db', db().url])
    assert.equal(r.code, 6)
    assert.match(r.stderr, /schema:init/)
    assert.ok(!r.stderr.includes(TEST_PASSWORD))
  })

  it('takes the password from DIRECTORCTL_DB_PASSWORD or a password file instead of the URL', async () => {
    if (db().engine === 'sqlite') return
    const withEnv = await runCli(['schema:init', '--mode', 'direct', '--db', db().urlWithoutPassword, '--verbose'], {env: {DIRECTORCTL_DB_PASSWORD: TEST_PASSWORD}})
    assert.equal(withEnv.code, 0, withEnv.stderr)
    const {writeFileSync, mkdtempSync} = await import('node:fs')
    const dir = mkdtempSync('/tmp/directorctl-pw-')
    writeFileSync(`${dir}/pw`, `${TEST_PASSWORD}\n`, {mode: 0o600})
    const withFile = await runCli(['backend:list', '--db', db().urlWithoutPassword, '--db-password-file', `${dir}/pw`, '--json'])
    assert.equal(withFile.code, 0, withFile.stderr)
  })

  it('connects over the UNIX socket (?socket= for MySQL, ?host= for PostgreSQL)', async function () {
    const server = db().server
    if (!server?.socket) this.skip()
    const url = db().engine === 'mysql'
      ? `mysql://directorctl@localhost/${db().name}?socket=${server!.socket}`
      : `postgres://directorctl@/${db().name}?host=${server!.socket}&port=${server!.port}`
    const r = await runCli(['backend:list', '--db', url, '--json', '--verbose'], {env: {DIRECTORCTL_DB_PASSWORD: TEST_PASSWORD}})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json(), [])
  })
})
