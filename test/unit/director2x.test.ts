import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'

import {DirectorRing} from '../../src/director/ring.js'
import {InputError} from '../../src/errors.js'
import {detectFormat, parseDump, parseMap, parseStatus} from '../../src/importers/director2x.js'

const DATA = new URL('../../../shared/data/director-2x/', import.meta.url)
const read = (name: string) => readFileSync(new URL(name, DATA), 'utf8')

describe('2.x director output parsers', () => {
  for (const ext of ['txt', 'tab', 'json']) {
    it(`status.${ext}`, () => {
      const hosts = parseStatus(read(`status.${ext}`), `status.${ext}`)
      assert.deepEqual(hosts.map((h) => [h.ip, h.tag, h.vhosts, h.up, h.users]), [
        ['127.0.1.1', '', 50, true, 58], ['127.0.1.2', '', 100, true, 53], ['127.0.1.3', 'gold', 100, true, 16], ['127.0.1.4', 'gold', 100, true, 20],
        ['127.0.1.5', 'silver', 100, false, 32], ['127.0.1.6', 'gold', 150, true, 1], ['127.0.1.7', 'silver', 100, true, 0],
      ])
      assert.equal(hosts[4].stateChanged, '2026-12-04 19:33:10')
      assert.equal(detectFormat(read(`status.${ext}`)), {json: 'json', tab: 'tab', txt: 'text'}[ext])
    })

    it(`dump.${ext}`, () => {
      const dump = parseDump(read(`dump.${ext}`), `dump.${ext}`)
      assert.deepEqual(dump.hosts.map((h) => [h.ip, h.tag, h.vhosts]), [
        ['127.0.1.1', '', 50], ['127.0.1.2', '', 100], ['127.0.1.3', 'gold', 100], ['127.0.1.4', 'gold', 100], ['127.0.1.5', 'silver', 100], ['127.0.1.6', 'gold', 150], ['127.0.1.7', 'silver', 100],
      ])
    })

    it(`map.${ext}`, () => {
      const map = parseMap(read(`map.${ext}`), `map.${ext}`)
      assert.equal(map.length, 180)
      assert.deepEqual([map[0].user, map[0].hash, map[0].ip], ['user016@example.com', 3_177_122_536, '127.0.1.1'])
    })
  }

  it('reads "remove" lines of a dump', () => {
    const dump = parseDump('doveadm director add 10.0.0.1 100\ndoveadm director add 10.0.0.2@gold 50\ndoveadm director remove 10.0.0.1 \n', 'dump')
    assert.deepEqual(dump.hosts.map((h) => h.ip), ['10.0.0.2'])
    assert.deepEqual(dump.removed, ['10.0.0.1'])
  })

  it('rejects truncated, mixed or foreign files with a line number', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseStatus(read('status.json').slice(0, 120), 'status.json'), /status\.json:1: not valid JSON/],
      [() => parseStatus(`${read('status.tab')}127.0.1.9\tgold\n`, 'status.tab'), /status\.tab:9: expected 6 tab-separated fields/],
      [() => parseStatus(read('status.txt').replace('127.0.1.4      gold   100    up', '127.0.1.4      gold   100    sideways'), 'status.txt'), /status\.txt:5: state "sidewa/],
      [() => parseDump(`${read('dump.txt')}hello world\n`, 'dump.txt'), /dump\.txt:8: expected "doveadm director add/],
      [() => parseMap(read('status.txt'), 'map.txt'), /map\.txt:1: expected a header/],
      [() => parseMap(`${read('map.tab')}user999@example.com\t1\t127.0.1.999\t-\n`, 'map.tab'), /map\.tab:182: "127\.0\.1\.999" is not an IP/],
      [() => parseStatus('', 'empty'), /empty:1: the file is empty/],
    ]
    for (const [call, message] of bad) assert.throws(call, (e: InputError) => e.exit === 2 && message.test(e.message))
  })
})

describe('2.x director ring', () => {
  it('puts every user of users-tags.tsv on the host the real director hashed it to', () => {
    const hosts = parseStatus(read('status.txt'), 'status.txt').filter((h) => h.up)
    const rings = new Map<string, DirectorRing>()
    for (const tag of new Set(hosts.map((h) => h.tag))) rings.set(tag, new DirectorRing(hosts.filter((h) => h.tag === tag)))
    const lines = read('hashed.tsv').split('\n').filter(Boolean)
    assert.equal(lines.length, 150)
    for (const line of lines) {
      const [user, tag, ip] = line.split('\t')
      assert.equal(rings.get(tag)!.hostFor(user), ip, `${user} (${tag || 'no tag'})`)
    }
  })
})
