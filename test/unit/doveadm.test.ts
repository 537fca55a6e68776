/**
 * The doveadm HTTP client against a stand-in server that answers as Dovecot 2.4 does
 * (Debian 12 ships 2.3, which test/e2e drives for real).
 */
import {strict as assert} from 'node:assert'
import {createServer, type Server} from 'node:http'

import {DoveadmClient, kickEverywhere, parseKickReply} from '../../src/doveadm/client.js'
import {InputError} from '../../src/errors.js'

function fakeDovecot24(key: string): Promise<{server: Server; url: string; posts: unknown[]}> {
  const posts: unknown[] = []
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `X-Dovecot-API ${Buffer.from(key).toString('base64')}`) {
      res.writeHead(401).end()
      return
    }

    if (req.method === 'GET') {
      res.end(JSON.stringify([
        {command: 'kick', parameters: [{name: 'mask', type: 'array'}, {name: 'destHost', type: 'string'}, {name: 'passdbField', type: 'string'}]},
        {command: 'proxyKick', parameters: [{name: 'mask', type: 'array'}, {name: 'destHost', type: 'string'}]},
      ]))
      return
    }

    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      posts.push(JSON.parse(body))
      res.end(JSON.stringify([['doveadmResponse', [{count: '2'}], 'kick']]))
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({posts, server, url: `http://127.0.0.1:${(server.address() as {port: number}).port}`})))
}

describe('doveadm HTTP client', () => {
  it('speaks 2.4: kick with mask', async () => {
    const {posts, server, url} = await fakeDovecot24('k')
    try {
      const result = await new DoveadmClient(url, {apiKey: 'k'}).kick(['alice@example.com'])
      assert.deepEqual(result, {kicked: 2, ok: true, proxy: url})
      assert.deepEqual(posts, [[['kick', {mask: ['alice@example.com']}, 'kick']]])
    } finally {
      server.close()
    }
  })

  it('reports a refused key without throwing, and never includes the key', async () => {
    const {server, url} = await fakeDovecot24('right')
    try {
      const [result] = await kickEverywhere([url], ['a@example.com'], {apiKey: 'wrong-key'})
      assert.equal(result.ok, false)
      assert.match(result.error!, /401/)
      assert.ok(!JSON.stringify(result).includes('wrong-key'))
    } finally {
      server.close()
    }
  })

  it('reads replies: counts, "nobody matched" (68) as 0, other errors thrown', () => {
    assert.equal(parseKickReply([['doveadmResponse', [{count: '1'}], 't']]), 1)
    assert.equal(parseKickReply([['error', {exitCode: 68, type: 'exitCode'}, 't']]), 0)
    assert.throws(() => parseKickReply([['error', {exitCode: 75, type: 'exitCode'}, 't']]))
  })

  it('needs proxies and a key, and rejects credentials in the proxy URL', async () => {
    await assert.rejects(kickEverywhere([], ['a'], {apiKey: 'k'}), InputError)
    assert.throws(() => new DoveadmClient('http://x:1', {}), InputError)
    await assert.rejects(kickEverywhere(['http://u:p@x:1'], ['a'], {apiKey: 'k'}), InputError)
  })
})
