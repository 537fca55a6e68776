/**
 * End to end through a real Dovecot 2.3 proxy whose passdb is the Lua director: what the CLI
 * writes is where logins go, kicks close live sessions, and what the script writes the CLI reads.
 */
import {strict as assert} from 'node:assert'

import {DoveadmClient} from '../../src/doveadm/client.js'
import {runCli} from '../helpers/cli.js'
import {createTestDatabase, enabledEngines, type EngineName, type TestDatabase} from '../helpers/engines.js'
import {freePort} from '../helpers/servers.js'
import {API_KEY, authLookup, BACKEND_IPS, type Dovecot, dovecotAvailable, ImapSession, startBackends, startProxy} from './dovecot.js'

const required = process.env.DIRECTORCTL_TEST_REQUIRE_DOVECOT === '1'
if (!dovecotAvailable() && required) throw new Error('Dovecot with auth-lua is required (DIRECTORCTL_TEST_REQUIRE_DOVECOT=1), and root to run it')

const scenarios: [EngineName, 'direct' | 'shard'][] = []
for (const engine of enabledEngines()) {
  scenarios.push([engine, 'direct'])
  if (engine !== 'sqlite') scenarios.push([engine, 'shard'])
}

const describeIf = dovecotAvailable() ? describe : describe.skip

describeIf('end to end through a real Dovecot proxy', function () {
  this.timeout(60_000)
  let backends: Dovecot
  before(async () => {
    backends = await startBackends()
  })
  after(async () => backends?.stop())

  for (const [engine, mode] of scenarios) {
    describe(`${engine}, ${mode} mode`, () => {
      let db: TestDatabase
      let proxy: Dovecot
      let api: DoveadmClient
      const env = () => ({DIRECTORCTL_DB: db.url, DIRECTORCTL_DOVEADM_API_KEY: API_KEY})
      const cli = (...args: string[]) => runCli(args, {env: env()})
      const proxyUrl = () => `http://127.0.0.1:${proxy.httpPort}`
      const landedOn = async (user: string) => (await api.proxyList()).filter((s) => s.username === user).map((s) => s.destIp)

      before(async () => {
        db = await createTestDatabase(engine)
        for (const args of [
          ['schema:init', '--mode', mode],
          ['backend:add', 'b1.example.com', '--ip', BACKEND_IPS[0]],
          ['backend:add', 'b2.example.com', '--ip', BACKEND_IPS[1]],
        ]) {
          const r = await cli(...args)
          assert.equal(r.code, 0, r.stderr)
        }

        const server = db.server
        proxy = await startProxy(server
          ? {database: db.name, engine, host: server.host, mode, password: server.password, port: server.port, user: server.user}
          : {engine, file: db.name, mode}, backends)
        api = new DoveadmClient(proxyUrl(), {apiKey: API_KEY})
      })
      after(async () => {
        await proxy?.stop()
        await db?.drop()
      })

      it('a user assigned by the CLI is routed to that backend (auth lookup and a real IMAP login)', async () => {
        for (const [user, backend, ip] of [['alice@example.com', 'b2.example.com', BACKEND_IPS[1]], ['bob@example.com', '1', BACKEND_IPS[0]]]) {
          const r = await cli('user:assign', user, backend)
          assert.equal(r.code, 0, r.stderr)
          assert.equal((await authLookup(proxy, user)).hostip, ip)
        }

        // Dovecot lowercases the login name, as the CLI does.
        const session = await ImapSession.open('127.0.0.1', proxy.imapPort)
        try {
          await session.login('Alice@Example.COM')
          assert.deepEqual(await landedOn('alice@example.com'), [BACKEND_IPS[1]])
        } finally {
          session.close()
        }
      })

      it('user:assign --kick closes the live session, and the next login lands on the new backend', async () => {
        const session = await ImapSession.open('127.0.0.1', proxy.imapPort)
        await session.login('alice@example.com')
        assert.deepEqual(await landedOn('alice@example.com'), [BACKEND_IPS[1]])
        const moved = await cli('user:assign', 'alice@example.com', 'b1.example.com', '--kick', '--yes', '--proxy', proxyUrl(), '--json')
        assert.equal(moved.code, 0, moved.stderr)
        const result = moved.json<{outcome: string; kicked: {ok: boolean; kicked: number}[]}>()
        assert.equal(result.outcome, 'moved')
        assert.deepEqual(result.kicked.map((k) => [k.ok, k.kicked]), [[true, 1]])
        await session.waitClosed()
        const again = await ImapSession.open('127.0.0.1', proxy.imapPort)
        try {
          await again.login('alice@example.com')
          assert.deepEqual(await landedOn('alice@example.com'), [BACKEND_IPS[0]])
        } finally {
          again.close()
        }
      })

      it('an unassigned user gets a backend from the script, and the CLI reads the same one', async () => {
        for (const user of ['carol@example.com', 'First.Last1@Example.ORG', 'Mixed.Case_01@Example.net', 'dave@example.net']) {
          const looked = await authLookup(proxy, user)
          assert.ok(BACKEND_IPS.includes(looked.hostip), JSON.stringify(looked))
          const show = await cli('user:show', user, '--json')
          assert.equal(show.code, 0, show.stderr)
          assert.equal(show.json<{backend: {hostip: string}}>().backend.hostip, looked.hostip, user)
        }
      })

      it('user:kick: a proxy that refuses the key is reported (key never printed), a reachable one still kicks', async () => {
        const session = await ImapSession.open('127.0.0.1', proxy.imapPort)
        await session.login('bob@example.com')
        const dead = `http://127.0.0.1:${await freePort()}`
        const wrongKey = await runCli(['user:kick', 'bob@example.com', '--proxy', proxyUrl(), '--json'], {env: {...env(), DIRECTORCTL_DOVEADM_API_KEY: 'not-the-key-1234'}})
        assert.notEqual(wrongKey.code, 0)
        assert.match(wrongKey.stdout, /401/)
        assert.ok(!(wrongKey.stdout + wrongKey.stderr).includes('not-the-key-1234'))
        assert.equal(session.closed, false)
        const mixed = await cli('user:kick', 'bob@example.com', '--proxy', dead, '--proxy', proxyUrl(), '--json')
        assert.equal(mixed.code, 1)
        const proxies = mixed.json<{proxies: {ok: boolean; kicked: number}[]}>().proxies
        assert.deepEqual(proxies.map((p) => [p.ok, p.kicked]), [[false, 0], [true, 1]])
        await session.waitClosed()
      })

      it('user:unassign: the next login is assigned anew by the script', async () => {
        const r = await cli('user:unassign', 'bob@example.com', '--yes')
        assert.equal(r.code, 0, r.stderr)
        assert.equal((await cli('user:show', 'bob@example.com')).code, 3)
        assert.ok(BACKEND_IPS.includes((await authLookup(proxy, 'bob@example.com')).hostip))
        assert.equal((await cli('user:show', 'bob@example.com')).code, 0)
      })
    })
  }
})
