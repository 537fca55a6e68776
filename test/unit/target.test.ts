import {strict as assert} from 'node:assert'
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {describeTarget, parseDbUrl, resolveCredentials} from '../../src/db/target.js'
import {InputError} from '../../src/errors.js'

describe('--db URL parsing', () => {
  it('reads SQLite paths, relative and absolute', () => {
    assert.equal(parseDbUrl('sqlite:director.db', '/srv').filename, '/srv/director.db')
    assert.equal(parseDbUrl('sqlite:/var/lib/d.db').filename, '/var/lib/d.db')
    assert.equal(parseDbUrl('sqlite:///var/lib/d.db').filename, '/var/lib/d.db')
  })

  it('reads MySQL and MariaDB URLs, with TCP or a UNIX socket', () => {
    const tcp = parseDbUrl('mariadb://director:s%40cret@db1.example.com:3307/mail')
    assert.deepEqual([tcp.engine, tcp.host, tcp.port, tcp.user, tcp.password, tcp.database], ['mysql', 'db1.example.com', 3307, 'director', 's@cret', 'mail'])
    const socket = parseDbUrl('mysql://director@localhost/mail?socket=/run/mysqld/mysqld.sock')
    assert.equal(socket.socket, '/run/mysqld/mysqld.sock')
  })

  it('reads PostgreSQL URLs, with a socket directory', () => {
    const pg = parseDbUrl('postgresql://director@/mail?host=/var/run/postgresql')
    assert.deepEqual([pg.engine, pg.socket, pg.host, pg.database], ['postgres', '/var/run/postgresql', undefined, 'mail'])
    assert.equal(parseDbUrl('postgres://d@[::1]:5433/mail').host, '::1')
  })

  it('rejects malformed URLs with exit 2 and examples', () => {
    for (const bad of ['', 'director.db', 'oracle://x/y', 'mysql://db1.example.com', 'mysql:db1/x', 'postgres://h/db?foo=1', 'mysql://h/db?socket=relative', 'sqlite:', 'mysql://u@/db']) {
      assert.throws(() => parseDbUrl(bad), (error: InputError) => error.exit === 2 && /Invalid --db URL/.test(error.message), bad)
    }
  })

  it('describes a target without its password', () => {
    const t = parseDbUrl('mysql://director:topsecret@db1:3306/mail')
    assert.equal(describeTarget(t), 'mysql://director@db1:3306/mail')
    assert.ok(!describeTarget(t).includes('topsecret'))
  })
})

describe('password sources', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'directorctl-home-'))

  it('prefers URL, then DIRECTORCTL_DB_PASSWORD, then the password file', async () => {
    const file = path.join(home, 'pw')
    writeFileSync(file, 'from-file\nignored\n')
    const base = parseDbUrl('mysql://director@db1/mail')
    const env = {DIRECTORCTL_DB_PASSWORD: 'from-env'}
    assert.equal((await resolveCredentials(parseDbUrl('mysql://director:from-url@db1/mail'), {env, home, passwordFile: file})).password, 'from-url')
    assert.equal((await resolveCredentials(base, {env, home, passwordFile: file})).password, 'from-env')
    const fromFile = await resolveCredentials(base, {env: {}, home, passwordFile: file})
    assert.equal(fromFile.password, 'from-file')
    assert.match(fromFile.passwordSource!, /password file/)
  })

  it('reads ~/.my.cnf [client] for MySQL', async () => {
    const h = mkdtempSync(path.join(tmpdir(), 'directorctl-home-'))
    writeFileSync(path.join(h, '.my.cnf'), '[mysqld]\npassword=no\n[client]\nuser = cnfuser\npassword = "p#ss word"\n')
    const t = await resolveCredentials(parseDbUrl('mysql://db1/mail'), {env: {}, home: h})
    assert.deepEqual([t.user, t.password, t.passwordSource], ['cnfuser', 'p#ss word', '~/.my.cnf [client]'])
  })

  it('reads ~/.pgpass for PostgreSQL, as libpq does', async () => {
    const h = mkdtempSync(path.join(tmpdir(), 'directorctl-home-'))
    const file = path.join(h, '.pgpass')
    writeFileSync(file, 'other:5432:*:*:wrong\ndb1:5432:mail:director:pg\\:pass\n')
    chmodSync(file, 0o600)
    const saved = process.env.PGPASSFILE
    process.env.PGPASSFILE = file
    try {
      const t = await resolveCredentials(parseDbUrl('postgres://director@db1/mail'), {env: process.env, home: h})
      assert.equal(t.password, 'pg:pass')
    } finally {
      if (saved === undefined) delete process.env.PGPASSFILE
      else process.env.PGPASSFILE = saved
    }
  })
})
