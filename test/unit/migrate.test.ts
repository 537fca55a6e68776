import {strict as assert} from 'node:assert'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {InputError, RefusedError} from '../../src/errors.js'
import {hash53, mergeHosts, validateUsers} from '../../src/importers/migrate.js'

const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-migrate-'))
const hosts = mergeHosts({hosts: [{ip: '10.0.0.1', line: 1, tag: '', vhosts: 100}, {ip: '10.0.0.2', line: 2, tag: 'gold', vhosts: 100}], removed: []}, undefined)
const file = (text: string) => {
  const p = path.join(dir, `${Math.random()}.tsv`)
  writeFileSync(p, text)
  return p
}

describe('user file validation (pass 1)', () => {
  it('counts each user once; an exact repeat is skipped, by line', async () => {
    const summary = await validateUsers(file('a@x.org\t\nb@x.org\tgold\nA@x.org\t\nc@x.org\n'), hosts, true)
    assert.equal(summary.users, 3)
    assert.deepEqual([...summary.repeats], [3])
    assert.deepEqual([...summary.perTag], [['', 2], ['gold', 1]])
  })

  it('reports a user with two tags with both line numbers, and unknown tags', async () => {
    await assert.rejects(validateUsers(file('a@x.org\t\nb@x.org\tsilver\nA@X.org\tgold\n'), hosts, true), (e: InputError) =>
      /:2: tag "silver": no host has it/.test(e.message) && /:3: a@x\.org has tag "gold" here but "" on line 1/.test(e.message))
  })

  it('refuses a tag whose hosts are all down (exit 4)', async () => {
    const down = mergeHosts(undefined, [{ip: '10.0.0.2', line: 1, stateChanged: null, tag: 'gold', up: false, users: 0, vhosts: 100}, {ip: '10.0.0.1', line: 2, stateChanged: null, tag: '', up: true, users: 0, vhosts: 100}])
    await assert.rejects(validateUsers(file('b@x.org\tgold\n'), down, true), RefusedError)
  })

  it('hash53 spreads names over 53 bits', () => {
    const values = new Set(Array.from({length: 100_000}, (_, i) => hash53(`user${i}@example.com`)))
    assert.equal(values.size, 100_000)
    assert.ok([...values].every((v) => Number.isSafeInteger(v) && v >= 0))
  })
})
