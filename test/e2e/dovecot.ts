/**
 * Real Dovecot (Debian's dovecot-core 2.3) on loopback addresses, for the end-to-end tests:
 * one backend IMAP server listening on 127.0.0.11 and 127.0.0.12 (the two "backends"), and a
 * proxy on 127.0.0.1 whose passdb is test/e2e/director.lua.tmpl, with the doveadm HTTP API.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import {freePort} from '../helpers/servers.js'

const run = promisify(execFile)
const HERE = path.dirname(fileURLToPath(import.meta.url))
export const BACKEND_IPS = ['127.0.0.11', '127.0.0.12']
export const USER_PASSWORD = 'imap-secret'
export const API_KEY = 'e2e-doveadm-key'

export function dovecotAvailable(): boolean {
  return existsSync('/usr/sbin/dovecot') && existsSync('/usr/lib/dovecot/modules/auth/libauthdb_lua.so') && process.getuid?.() === 0
}

export interface Dovecot {
  dir: string
  config: string
  imapPort: number
  httpPort?: number
  stop(): Promise<void>
  log(): string
}

const COMMON = (dir: string) => `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/log
info_log_path = ${dir}/log
instance_name = directorctl-e2e-${path.basename(dir)}
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:${dir}/home/%u/Maildir
first_valid_uid = 100
userdb {
  driver = static
  args = uid=65534 gid=65534 home=${dir}/home/%u
}
service imap-login {
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
`

async function start(name: string, body: (dir: string) => string, ports: {imap: number; http?: number}): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), `directorctl-${name}-`))
  chmodSync(dir, 0o755)
  mkdirSync(`${dir}/home`, {mode: 0o1777})
  chmodSync(`${dir}/home`, 0o1777)
  const config = `${dir}/dovecot.conf`
  writeFileSync(config, COMMON(dir) + body(dir))
  const child: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', config], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  process.once('exit', () => child.kill('SIGKILL'))
  const log = () => (existsSync(`${dir}/log`) ? readFileSync(`${dir}/log`, 'utf8') : '') + stderr
  const host = name === 'proxy' ? '127.0.0.1' : BACKEND_IPS[0]
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`dovecot ${name} exited: ${log()}`)
    if (/startup failed|Fatal:/.test(log())) throw new Error(`dovecot ${name} failed to start:\n${log()}`)
    try {
      const session = await ImapSession.open(host, ports.imap, 1000)
      session.close()
      break
    } catch {
      if (i > 100) throw new Error(`dovecot ${name} did not listen: ${log()}`)
      await sleep(100)
    }
  }

  return {
    config,
    dir,
    httpPort: ports.http,
    imapPort: ports.imap,
    log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await Promise.race([exited, sleep(10_000)])
        if (child.exitCode === null) child.kill('SIGKILL')
      }

      rmSync(dir, {force: true, recursive: true})
    },
  }
}

/** The mail servers: one Dovecot answering on both backend addresses. */
export async function startBackends(): Promise<Dovecot> {
  const imap = await freePort()
  return start('backend', () => `
listen = ${BACKEND_IPS.join(', ')}
passdb {
  driver = static
  args = password=${USER_PASSWORD}
}
service imap-login {
  inet_listener imap {
    port = ${imap}
  }
}
`, {imap})
}

export interface DirectorDb {
  mode: 'direct' | 'shard'
  engine: 'sqlite' | 'mysql' | 'postgres'
  /** sqlite file, or server coordinates. */
  file?: string
  host?: string
  port?: number
  user?: string
  password?: string
  database?: string
}

function luaString(s: string | number): string {
  return JSON.stringify(String(s))
}

export function directorScript(db: DirectorDb): string {
  const driver = {mysql: 'MySQL', postgres: 'PostgreSQL', sqlite: 'SQLite3'}[db.engine]
  const connectArgs = db.engine === 'sqlite'
    ? [luaString(db.file!)]
    : [luaString(db.database!), luaString(db.user!), luaString(db.password!), luaString(db.host!), String(db.port)]
  const keyColumn = db.mode === 'shard' ? 'user_hash' : 'user'
  const insertColumn = db.engine === 'postgres' && db.mode === 'direct' ? '\\"user\\"' : keyColumn
  return readFileSync(path.join(HERE, 'director.lua.tmpl'), 'utf8')
    .replace('@MODE@', db.mode)
    .replace('@DRIVER@', driver)
    .replace('@CONNECT@', connectArgs.join(', '))
    .replace('@INSERT_COLUMN@', insertColumn)
}

/** A proxy whose passdb is the Lua director on `db`, with the doveadm HTTP API on loopback. */
export async function startProxy(db: DirectorDb, backends: Dovecot): Promise<Dovecot> {
  if (db.file) {
    // The auth processes run as the dovecot user: they must be able to write the file and its directory.
    chmodSync(path.dirname(db.file), 0o777)
    chmodSync(db.file, 0o666)
  }

  const [imap, http] = [await freePort(), await freePort()]
  return start('proxy', (dir) => {
    writeFileSync(`${dir}/director.lua`, directorScript(db))
    return `
listen = 127.0.0.1
passdb {
  driver = lua
  args = file=${dir}/director.lua blocking=yes
  override_fields = port=${backends.imapPort}
}
doveadm_api_key = ${API_KEY}
service doveadm {
  inet_listener http {
    address = 127.0.0.1
    port = ${http}
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imap}
  }
}
`
  }, {http, imap})
}

/** `doveadm auth lookup` on the proxy: the passdb fields the Lua director returned. */
export async function authLookup(proxy: Dovecot, user: string): Promise<Record<string, string>> {
  const {stdout} = await run('/usr/bin/doveadm', ['-c', proxy.config, 'auth', 'lookup', user])
  const fields: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const m = /^\s+(\S+)\s*:\s*(.*)$/.exec(line)
    if (m) fields[m[1]] = m[2]
  }

  return fields
}

/** A minimal IMAP client: enough to log in, stay connected and notice being kicked. */
export class ImapSession {
  private buffer = ''
  closed = false
  private readonly closedPromise: Promise<void>

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (d) => (this.buffer += d))
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true
        resolve()
      })
    })
    socket.on('error', () => {})
  }

  static async open(host: string, port: number, greetingTimeoutMs = 10_000): Promise<ImapSession> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({host, port}, () => resolve(s))
      s.once('error', reject)
      s.setTimeout(10_000, () => s.destroy(new Error('timeout')))
    })
    const session = new ImapSession(socket)
    try {
      await session.waitFor(/^\* OK/m, greetingTimeoutMs)
    } catch (error) {
      session.close()
      throw error
    }

    return session
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const started = Date.now()
    while (!pattern.test(this.buffer)) {
      if (this.closed) throw new Error(`connection closed; received: ${this.buffer}`)
      if (Date.now() - started > timeoutMs) throw new Error(`timeout waiting for ${pattern}; received: ${this.buffer}`)
      await sleep(20)
    }

    return this.buffer
  }

  async login(user: string, password = USER_PASSWORD): Promise<void> {
    this.socket.write(`a1 LOGIN "${user}" "${password}"\r\n`)
    const text = await this.waitFor(/^a1 (OK|NO|BAD)/m)
    if (!/^a1 OK/m.test(text)) throw new Error(`login failed: ${text}`)
  }

  get received(): string {
    return this.buffer
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await Promise.race([this.closedPromise, sleep(timeoutMs).then(() => {
      throw new Error('the connection stayed open')
    })])
  }

  close(): void {
    this.socket.destroy()
  }
}
