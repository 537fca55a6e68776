/**
 * backend:check from cron against real listeners on loopback addresses that are stopped and
 * started again: fall, rise, the operator-down rule, drain-after, and overlapping runs.
 */
import {strict as assert} from 'node:assert'
import {createServer, type Server, type Socket} from 'node:net'

import {runCli} from '../helpers/cli.js'
import {forEachEngine} from '../helpers/engines.js'
import {freePort} from '../helpers/servers.js'

class Listener {
  private server?: Server
  private readonly sockets = new Set<Socket>()
  constructor(
    readonly host: string,
    readonly port: number,
    private readonly greeting: string | null = '* OK [CAPABILITY IMAP4rev1] ready\r\n',
  ) {}

  async start(): Promise<void> {
    this.server = createServer((s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
      s.on('error', () => {})
      if (this.greeting) s.write(this.greeting)
    })
    await new Promise<void>((resolve) => this.server!.listen(this.port, this.host, resolve))
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise((resolve) => this.server?.close(resolve))
  }
}

forEachEngine('backend:check --set-state', ({db}) => {
  let port: number
  let one: Listener
  let two: Listener
  let three: Listener
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})
  const check = async (...extra: string[]) => {
    const r = await cli('backend:check', '--set-state', '--port', String(port), '--fall', '2', '--rise', '2', '--timeout', '1000', '--retries', '0', '--json', ...extra)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    return new Map(r.json<{backends: {hostname: string; state: number; action: string; ok: boolean}[]}>().backends.map((b) => [b.hostname, b]))
  }

  before(async () => {
    port = await freePort()
    one = new Listener('127.0.0.21', port)
    two = new Listener('127.0.0.22', port)
    three = new Listener('127.0.0.23', port)
    await Promise.all([one.start(), two.start(), three.start()])
    for (const args of [['schema:init', '--mode', 'direct'], ['backend:add', 'one.example.com', '--ip', '127.0.0.21'], ['backend:add', 'two.example.com', '--ip', '127.0.0.22'], ['backend:add', 'three.example.com', '--ip', '127.0.0.23']]) {
      assert.equal((await cli(...args)).code, 0)
    }
  })
  after(async () => Promise.all([one.stop(), two.stop(), three.stop()]))

  it('sets a backend down after --fall failures in a row, and up after --rise good checks', async () => {
    assert.ok([...(await check()).values()].every((b) => b.ok && b.state === 0))
    await one.stop()
    const first = await check()
    assert.deepEqual([first.get('one.example.com')!.ok, first.get('one.example.com')!.state, first.get('one.example.com')!.action], [false, 0, 'none'])
    const second = await check()
    assert.deepEqual([second.get('one.example.com')!.state, second.get('one.example.com')!.action], [1, 'set-down'])
    await one.start()
    assert.equal((await check()).get('one.example.com')!.state, 1, 'one good check is not enough')
    const back = await check()
    assert.deepEqual([back.get('one.example.com')!.state, back.get('one.example.com')!.action], [0, 'set-up'])
    const history = (await cli('history', '--command', 'backend:check', '--json')).json<{detail: {action: string}}[]>()
    assert.deepEqual(history.map((h) => h.detail.action), ['set-up', 'set-down'])
  })

  it('never brings back a backend an operator set down', async () => {
    assert.equal((await cli('backend:down', 'two.example.com')).code, 0)
    for (let i = 0; i < 3; i++) assert.equal((await check()).get('two.example.com')!.state, 1)
    assert.equal((await cli('backend:up', 'two.example.com')).code, 0)
  })

  it('--drain-after moves the users of a backend down by check for that long', async () => {
    const file = `/tmp/directorctl-check-${process.pid}-${db().engine}.csv`
    const {writeFileSync} = await import('node:fs')
    writeFileSync(file, Array.from({length: 30}, (_, i) => `c${i}@example.com,three.example.com`).join('\n'))
    assert.equal((await cli('user:assign', '--file', file)).code, 0)
    await three.stop()
    await check()
    assert.equal((await check()).get('three.example.com')!.state, 1)
    const drained = await check('--drain-after', '0s', '--yes')
    assert.equal(drained.get('three.example.com')!.action, 'drained')
    const list = (await cli('backend:list', '--json')).json<{hostname: string; assigned: number}[]>()
    assert.equal(list.find((b) => b.hostname === 'three.example.com')!.assigned, 0)
    await three.start()
  })

  it('two checks at once do not interleave: the second exits 5', async () => {
    const slowPort = await freePort()
    const silent = new Listener('127.0.0.24', slowPort, null)
    await silent.start()
    assert.equal((await cli('backend:add', 'four.example.com', '--ip', '127.0.0.24')).code, 0)
    try {
      const args = ['backend:check', '--port', String(slowPort), '--timeout', '2500', '--retries', '0', '--lock-wait', '0']
      const [a, b] = await Promise.all([cli(...args), new Promise((r) => setTimeout(r, 700)).then(() => cli(...args))])
      assert.deepEqual([a.code, b.code].sort(), [0, 5])
    } finally {
      await silent.stop()
    }
  })
})
