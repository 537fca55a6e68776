import {strict as assert} from 'node:assert'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {runCli} from '../helpers/cli.js'
import {forEachEngine} from '../helpers/engines.js'

forEachEngine('stats', ({db}) => {
  const cli = (...args: string[]) => runCli(args, {env: {DIRECTORCTL_DB: db().url}})

  it('text, --json and a Prometheus textfile written atomically', async () => {
    for (const args of [['schema:init', '--mode', 'shard'], ['backend:add', 'a.example.com', '--ip', '192.0.2.1'], ['backend:add', 'b.example.com', '--ip', '192.0.2.2', '--weight', '300'], ['shard:fill', '--yes']]) {
      assert.equal((await cli(...args)).code, 0)
    }

    const json = (await cli('stats', '--json')).json<{shardsFilled: number; backends: {assigned: number; target: number}[]; rebalanceMoves: number}>()
    assert.equal(json.shardsFilled, 65_536)
    assert.deepEqual(json.backends.map((b) => [b.assigned, b.target]), [[16_384, 16_384], [49_152, 49_152]])
    assert.equal(json.rebalanceMoves, 0)
    const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-prom-'))
    const out = path.join(dir, 'directorctl.prom')
    assert.equal((await cli('stats', '--format', 'prometheus', '--output', out)).code, 0)
    const prom = readFileSync(out, 'utf8')
    assert.match(prom, /^# HELP directorctl_backend_up /m)
    assert.match(prom, /^directorctl_backend_assigned\{backend="2",hostname="b\.example\.com"\} 49152$/m)
    assert.match(prom, /^directorctl_shards_filled 65536$/m)
    assert.deepEqual(readdirSync(dir), ['directorctl.prom'], 'no temporary file left behind')
    assert.match((await cli('stats')).stdout, /shards filled: 65536 of 65536/)
  })
})
