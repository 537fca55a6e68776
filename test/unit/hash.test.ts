import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'

import {asciiLowercase, director2Hash, SHARD_CRC_SEED, shardCrc, shardOf} from '../../src/director/hash.js'

const DATA = new URL('../../../shared/data/', import.meta.url)

describe('shard hash', () => {
  it('matches the published script on every vector in shard-hash-vectors.tsv', () => {
    const lines = readFileSync(new URL('shard-hash-vectors.tsv', DATA), 'utf8').split('\n').filter(Boolean)
    const [header, ...rows] = lines
    assert.equal(header, 'user\tcrc32\tshard')
    assert.equal(rows.length, 1000)
    for (const row of rows) {
      const [user, crc, shard] = row.split('\t')
      assert.equal(shardCrc(user), Number(crc), `crc32 of ${user}`)
      assert.equal(shardOf(user), Number(shard), `shard of ${user}`)
    }
  })

  it('uses seed 120254 and the low 16 bits', () => {
    assert.equal(SHARD_CRC_SEED, 120_254)
    assert.equal(shardOf('alice@example.com'), 20_926)
  })
})

describe('Dovecot 2.x director hash', () => {
  it('equals the hash the real director printed in `director map`', () => {
    const map = JSON.parse(readFileSync(new URL('director-2x/map.json', DATA), 'utf8')) as {user: string; hash: string}[]
    assert.ok(map.length > 100)
    for (const row of map) assert.equal(director2Hash(row.user), Number(row.hash), row.user)
  })

  it('lowercases ASCII only, as Dovecot str_lcase does', () => {
    assert.equal(asciiLowercase('Üser@Bücher.DE'), 'Üser@bücher.de')
    assert.equal(director2Hash('User016@Example.COM'), director2Hash('user016@example.com'))
  })
})
