/**
 * The one base command: shared flags, settings, the connection's life cycle, output that falls
 * silent under --json, and the mapping of every expected failure to the contract's exit codes.
 */
import {createInterface} from 'node:readline/promises'

import {Args, Command, Errors, Flags, type Interfaces} from '@oclif/core'

import type {Connection} from './db/connection.js'
import {kickEverywhere, type KickResult} from './doveadm/client.js'
import {RunLock} from './db/lock.js'
import {normalizeUser} from './director/user.js'
import {recordHistory} from './director/history.js'
import {DatabaseError, DirectorError, EXIT, InputError, RefusedError} from './errors.js'
import {openSession, prepareForWrites, type Session} from './session.js'
import {resolveSettings, type Settings} from './settings.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

const GLOBAL = 'GLOBAL'

/** Flags of every command that changes data. */
export const writeFlags = {
  'dry-run': Flags.boolean({description: 'Print what would change and change nothing.', helpGroup: 'WRITE'}),
  'lock-wait': Flags.integer({
    default: 10,
    description: 'Seconds to wait for another run of directorctl to finish before giving up (exit 5).',
    helpGroup: 'WRITE',
    min: 0,
  }),
  yes: Flags.boolean({char: 'y', description: 'Do not ask before moving or deleting existing mappings (needed when not on a terminal).', helpGroup: 'WRITE'}),
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    config: Flags.string({
      description: 'Config file (YAML) with db, passwordFile, mode, lowercase, proxies, doveadm. Default: ~/.config/directorctl/config.yml, then /etc/directorctl/config.yml.',
      env: 'DIRECTORCTL_CONFIG',
      helpGroup: GLOBAL,
    }),
    db: Flags.string({
      description: 'Database URL: sqlite:FILE, mysql://user@host:port/db, postgres://user@host:port/db (?socket= / ?host= for UNIX sockets). Default: the embedded SQLite file ~/.local/share/directorctl/director.db.',
      env: 'DIRECTORCTL_DB',
      helpGroup: GLOBAL,
    }),
    'db-password-file': Flags.string({
      description: 'File whose first line is the database password (also DIRECTORCTL_DB_PASSWORD_FILE; or DIRECTORCTL_DB_PASSWORD, ~/.my.cnf, ~/.pgpass).',
      helpGroup: GLOBAL,
    }),
    lowercase: Flags.boolean({
      allowNo: true,
      description: 'Lowercase user names as Dovecot\'s default auth_username_format does (default on; --no-lowercase if your proxies keep case).',
      helpGroup: GLOBAL,
    }),
    mode: Flags.option({
      description: 'Schema mode; normally detected from user_backend (user: direct, user_hash: shard).',
      helpGroup: GLOBAL,
      options: ['direct', 'shard'] as const,
    })(),
    verbose: Flags.boolean({char: 'v', description: 'Say which database and mode were used, and what was done.', helpGroup: GLOBAL}),
  }

  static enableJsonFlag = true

  protected args!: CommandArgs<T>
  protected flags!: CommandFlags<T>
  private lock?: RunLock
  private openedSession?: Session
  private otherConnections: Connection[] = []
  private secrets: string[] = []
  private cachedSettings?: Settings

  public async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
  }

  protected get settings(): Settings {
    if (!this.cachedSettings) {
      const f = this.flags as Record<string, unknown>
      this.cachedSettings = resolveSettings({
        config: f.config as string | undefined,
        db: f.db as string | undefined,
        dbPasswordFile: f['db-password-file'] as string | undefined,
        lowercase: f.lowercase as boolean | undefined,
        mode: f.mode as string | undefined,
        proxy: f.proxy as string[] | undefined,
      })
      for (const secret of [this.cachedSettings.doveadmApiKey, this.cachedSettings.doveadmPassword, process.env.DIRECTORCTL_DB_PASSWORD]) {
        if (secret) this.secrets.push(secret)
      }
    }

    return this.cachedSettings
  }

  /** The database with its mode detected. Opened once, closed in finally(). */
  protected async session(): Promise<Session> {
    if (!this.openedSession) {
      this.openedSession = await openSession(this.settings)
      this.rememberSecret(this.openedSession.conn)
      for (const note of this.openedSession.notes) this.verbose(note)
    }

    return this.openedSession
  }

  /** A session for a command that changes data: the tool's tables exist and the run lock is held. */
  protected async writeSession(): Promise<Session> {
    const session = await this.session()
    const f = this.flags as Record<string, unknown>
    if (f['dry-run']) return session
    await prepareForWrites(session)
    this.lock = await RunLock.acquire(session.conn.knex, session.conn.dialect, {
      holder: `${process.env.USER ?? 'unknown'} running ${this.config.bin} ${this.id} ${this.argv.join(' ')}`.trim(),
      waitMs: ((f['lock-wait'] as number | undefined) ?? 0) * 1000,
    })
    this.verbose('run lock acquired')
    return session
  }

  /** Register a connection opened outside session() so that finally() closes it. */
  protected track(conn: Connection): Connection {
    this.rememberSecret(conn)
    this.otherConnections.push(conn)
    return conn
  }

  private rememberSecret(conn: Connection): void {
    if (conn.target.password) this.secrets.push(conn.target.password)
  }

  protected get dryRun(): boolean {
    return Boolean((this.flags as Record<string, unknown>)['dry-run'])
  }

  /** User names as the proxies look them up. */
  protected user(name: string): string {
    return normalizeUser(name, {lowercase: this.settings.lowercase})
  }

  /** An audit record of an applied change. */
  protected async audit(detail: Record<string, unknown>): Promise<void> {
    if (!this.openedSession || this.dryRun) return
    await recordHistory(this.openedSession.conn.knex, this.id ?? 'unknown', {argv: this.argv, ...detail})
  }

  /**
   * Kick users on every configured proxy. Per-proxy results are shown; a proxy that failed
   * makes the exit code 1 without stopping the others.
   */
  protected async kickUsers(users: string[]): Promise<KickResult[]> {
    const {settings} = this
    const results = await kickEverywhere(settings.proxies, users, {apiKey: settings.doveadmApiKey, password: settings.doveadmPassword}, settings.doveadmTimeoutMs)
    for (const r of results) {
      if (r.ok) this.note(`kick ${users.length === 1 ? users[0] : `${users.length} users`} on ${r.proxy}: ${r.kicked} connection(s) closed`)
      else this.warning(`kick on ${r.proxy} failed: ${this.redact(r.error ?? 'unknown error')}`)
    }

    if (results.some((r) => !r.ok)) process.exitCode = EXIT.UNEXPECTED
    return results
  }

  /** Data for people: stdout, silent under --json. */
  protected out(text = ''): void {
    this.log(text)
  }

  /** Progress, notes and warnings: stderr, silent under --json. */
  protected note(text: string): void {
    this.logToStderr(text)
  }

  protected warning(text: string): void {
    this.logToStderr(`Warning: ${text}`)
  }

  protected verbose(text: string): void {
    if ((this.flags as Record<string, unknown>)?.verbose) this.logToStderr(`[directorctl] ${text}`)
  }

  /**
   * Ask before moving or deleting existing mappings. --yes answers for the operator; without a
   * terminal there is nobody to ask, so the command refuses (exit 4).
   */
  protected async confirm(question: string): Promise<void> {
    if ((this.flags as Record<string, unknown>).yes || this.dryRun) return
    if (!process.stdin.isTTY || !process.stderr.isTTY) {
      throw new RefusedError(`${question} Not on a terminal, so nothing was changed`, ['Pass --yes to go ahead without asking'])
    }

    const rl = createInterface({input: process.stdin, output: process.stderr})
    try {
      const answer = await rl.question(`${question} [y/N] `)
      if (!/^y(es)?$/i.test(answer.trim())) throw new RefusedError('Not confirmed; nothing was changed')
    } finally {
      rl.close()
    }
  }

  protected redact(text: string): string {
    let result = text.replaceAll(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')
    for (const secret of this.secrets) {
      if (secret.length > 0) result = result.split(secret).join('***')
    }

    return result
  }

  /** Turn any failure into the contract's exit code and one line, never a stack trace. */
  protected failure(error: unknown): DirectorError {
    if (error instanceof DirectorError) return error
    const dialect = this.openedSession?.conn.dialect
    const classified = dialect?.classify(error, this.openedSession!.conn.description)
    if (classified) return classified
    if (dialect?.isMissingSchema(error)) {
      return new DatabaseError(`The schema is not what directorctl expects: ${(error as Error).message}`, ['Check it with: directorctl doctor'])
    }

    const oclifExit = (error as {oclif?: {exit?: number}}).oclif?.exit
    if (oclifExit === 2 || (error as Error).constructor?.name?.includes('Parse') || /flag|argument/i.test((error as Error).constructor?.name ?? '')) {
      return new InputError((error as Error).message)
    }

    const unexpected = new DirectorError(`Unexpected failure: ${(error as Error).message ?? String(error)}`, EXIT.UNEXPECTED, 'UNEXPECTED')
    if ((this.flags as Record<string, unknown> | undefined)?.verbose) unexpected.stack = (error as Error).stack
    return unexpected
  }

  protected async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof Errors.ExitError) throw error
    const failure = this.failure(error)
    const message = this.redact(failure.message)
    process.exitCode = failure.exit
    if (this.jsonEnabled()) {
      this.logJson({error: {code: failure.code, exit: failure.exit, message, suggestions: failure.suggestions.map((s) => this.redact(s))}})
      return
    }

    if (failure.exit === EXIT.UNEXPECTED && failure.stack && (this.flags as Record<string, unknown> | undefined)?.verbose) {
      process.stderr.write(`${this.redact(failure.stack)}\n`)
    }

    // One line per fact, unwrapped, so that cron mail and log greps see the whole message.
    process.stderr.write(`Error: ${message}\n`)
    for (const suggestion of failure.suggestions) process.stderr.write(`Hint: ${this.redact(suggestion)}\n`)
    this.exit(failure.exit)
  }

  protected async finally(error: Error | undefined): Promise<void> {
    try {
      await this.lock?.release().catch(() => {})
      await this.openedSession?.conn.close()
      await Promise.all(this.otherConnections.map((c) => c.close()))
    } finally {
      await super.finally(error)
    }
  }
}

export const backendArg = (description = 'Backend id or hostname.') => Args.string({description, required: true})

/** Flags of commands that kick users through the proxies' doveadm HTTP API. */
export const proxyFlags = {
  proxy: Flags.string({
    description: 'doveadm HTTP API of a proxy, e.g. http://proxy1:8080 (repeatable; default: proxies: in the config file). The key comes from DIRECTORCTL_DOVEADM_API_KEY or the config file.',
    helpGroup: 'KICK',
    multiple: true,
  }),
}
