import {strict as assert} from 'node:assert'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {InputError} from '../../src/errors.js'
import {defaultDatabaseFile, resolveSettings} from '../../src/settings.js'

describe('settings precedence', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'directorctl-cfg-'))
  const config = path.join(dir, 'config.yml')
  writeFileSync(config, 'db: postgres://d@config/mail\nmode: shard\nlowercase: false\nproxies:\n  - http://127.0.0.1:8080\ndoveadm:\n  apiKey: k\n')
  const env = {DIRECTORCTL_CONFIG: config, HOME: dir}

  it('flag > environment > config file > default', () => {
    assert.equal(resolveSettings({db: 'sqlite:flag.db'}, {...env, DIRECTORCTL_DB: 'sqlite:env.db'}).db, 'sqlite:flag.db')
    assert.equal(resolveSettings({}, {...env, DIRECTORCTL_DB: 'sqlite:env.db'}).db, 'sqlite:env.db')
    const fromConfig = resolveSettings({}, env)
    assert.deepEqual([fromConfig.db, fromConfig.dbSource, fromConfig.mode, fromConfig.lowercase, fromConfig.proxies, fromConfig.doveadmApiKey],
      ['postgres://d@config/mail', 'config', 'shard', false, ['http://127.0.0.1:8080'], 'k'])
    assert.equal(resolveSettings({lowercase: true, mode: 'direct'}, env).lowercase, true)
    const defaults = resolveSettings({}, {HOME: dir})
    assert.equal(defaults.dbSource, 'default')
    assert.equal(defaults.db, `sqlite:${defaultDatabaseFile({HOME: dir})}`)
    assert.equal(defaults.lowercase, true)
  })

  it('rejects unknown or mistyped config settings (exit 2)', () => {
    const bad = path.join(dir, 'bad.yml')
    writeFileSync(bad, 'database: x\n')
    assert.throws(() => resolveSettings({config: bad}, {HOME: dir}), (e: InputError) => e.exit === 2 && /unknown setting "database"/.test(e.message))
    writeFileSync(bad, 'lowercase: maybe\n')
    assert.throws(() => resolveSettings({config: bad}, {HOME: dir}), InputError)
    writeFileSync(bad, 'db: [unclosed\n')
    assert.throws(() => resolveSettings({config: bad}, {HOME: dir}), /not valid YAML/)
    assert.throws(() => resolveSettings({config: path.join(dir, 'missing.yml')}, {HOME: dir}), /Cannot read the config file/)
  })
})
