/**
 * The run lock: two runs of the tool never change data at the same time. A row in
 * directorctl_lock (works on MariaDB with Galera, where GET_LOCK is not replicated, on
 * PostgreSQL and on SQLite). The holder refreshes a heartbeat; a lock whose heartbeat is older
 * than staleMs, or whose process is gone from this host, was left by a killed run and is taken over.
 */
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import type {Knex} from 'knex'

import {LockedError} from '../errors.js'
import type {Dialect} from './dialect.js'
import {TABLES} from './schema.js'

export interface LockInfo {
  holder: string
  host: string
  pid: number
  acquiredAt: number
  heartbeatAt: number
}

export interface LockOptions {
  name?: string
  /** What the holder is doing, shown to whoever waits: "root running shard:rebalance". */
  holder: string
  /** How long to wait for a busy lock before giving up with exit 5. */
  waitMs?: number
  staleMs?: number
  heartbeatMs?: number
  now?: () => number
}

const DEFAULT_NAME = 'directorctl'

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function isStale(info: LockInfo, now: number, staleMs: number, thisHost = hostname()): boolean {
  if (now - info.heartbeatAt > staleMs) return true
  return info.host === thisHost && !processAlive(info.pid)
}

export class RunLock {
  private timer?: NodeJS.Timeout
  private lost = false

  private constructor(
    private readonly knex: Knex,
    readonly name: string,
    private readonly token: string,
    private readonly now: () => number,
  ) {}

  static async read(knex: Knex, name = DEFAULT_NAME): Promise<LockInfo | undefined> {
    return (await RunLock.readRow(knex, name))?.info
  }

  private static async readRow(knex: Knex, name: string): Promise<{info: LockInfo; token: string} | undefined> {
    const row = await knex(TABLES.lock).where('name', name).first()
    if (!row) return undefined
    return {
      info: {
        acquiredAt: Number(row.acquired_at),
        heartbeatAt: Number(row.heartbeat_at),
        holder: row.holder,
        host: row.host,
        pid: Number(row.pid),
      },
      token: row.token,
    }
  }

  static async acquire(knex: Knex, dialect: Dialect, options: LockOptions): Promise<RunLock> {
    const name = options.name ?? DEFAULT_NAME
    const now = options.now ?? Date.now
    const staleMs = options.staleMs ?? 120_000
    const deadline = now() + (options.waitMs ?? 0)
    const token = randomBytes(16).toString('hex')

    for (;;) {
      const at = now()
      try {
        await knex(TABLES.lock).insert({
          acquired_at: at,
          heartbeat_at: at,
          holder: options.holder.slice(0, 512),
          host: hostname().slice(0, 255),
          name,
          pid: process.pid,
          token,
        })
        const lock = new RunLock(knex, name, token, now)
        lock.startHeartbeat(options.heartbeatMs ?? Math.max(1000, Math.floor(staleMs / 8)))
        return lock
      } catch (error) {
        if (!dialect.isUniqueViolation(error)) throw error
      }

      const row = await RunLock.readRow(knex, name)
      if (!row) continue
      const {info} = row
      if (isStale(info, now(), staleMs)) {
        // Compare-and-delete: only the stale row we looked at, never a fresh holder's.
        await knex(TABLES.lock).where({name, token: row.token}).delete()
        continue
      }

      if (now() >= deadline) {
        throw new LockedError(
          `Another run holds the lock: ${info.holder} (host ${info.host}, pid ${info.pid}, since ${new Date(info.acquiredAt).toISOString()})`,
          ['Wait for it to finish, or pass --lock-wait SECONDS. A killed run\'s lock is taken over once it is stale (2 minutes).'],
        )
      }

      await sleep(Math.min(500, Math.max(50, deadline - now())))
    }
  }

  /** Throws if another run took the lock over (our heartbeat stalled past staleMs). */
  assertHeld(): void {
    if (this.lost) throw new LockedError('The run lock was taken over by another run; stopped before changing more')
  }

  private startHeartbeat(everyMs: number): void {
    this.timer = setInterval(() => {
      this.knex(TABLES.lock)
        .where({name: this.name, token: this.token})
        .update({heartbeat_at: this.now()})
        .then((n) => {
          if (n === 0) this.lost = true
        })
        .catch(() => {})
    }, everyMs)
    this.timer.unref()
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.knex(TABLES.lock).where({name: this.name, token: this.token}).delete()
  }
}
