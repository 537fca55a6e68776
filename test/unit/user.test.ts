import {strict as assert} from 'node:assert'

import {normalizeUser} from '../../src/director/user.js'
import {InputError} from '../../src/errors.js'

describe('user names', () => {
  it('lowercases ASCII by default, as Dovecot does, and keeps case when told', () => {
    assert.equal(normalizeUser('Bob@Example.COM', {lowercase: true}), 'bob@example.com')
    assert.equal(normalizeUser('Bob@Example.COM', {lowercase: false}), 'Bob@Example.COM')
    assert.equal(normalizeUser('Üser@Bücher.DE', {lowercase: true}), 'Üser@bücher.de')
  })

  it('rejects names the proxies could never look up (exit 2)', () => {
    for (const bad of ['', 'a\nb', 'tab\there', 'nul\u0000', ' lead', 'trail ', 'x'.repeat(256), 'ü'.repeat(128)]) {
      assert.throws(() => normalizeUser(bad, {lowercase: true}), (e: InputError) => e.exit === 2, JSON.stringify(bad))
    }

    assert.equal(normalizeUser('x'.repeat(255), {lowercase: true}).length, 255)
  })
})
