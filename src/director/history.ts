/** The audit record: every applied change, readable with `directorctl history`. */
import {hostname, userInfo} from 'node:os'

import type {Knex} from 'knex'

import {TABLES} from '../db/schema.js'

export interface HistoryEntry {
  id: number
  at: string
  osUser: string
  host: string
  command: string
  detail: unknown
}

function osUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'unknown'
  }
}

export async function recordHistory(knex: Knex, command: string, detail: Record<string, unknown>): Promise<void> {
  await knex(TABLES.history).insert({
    at: Date.now(),
    command: command.slice(0, 255),
    detail: JSON.stringify(detail),
    host: hostname().slice(0, 255),
    os_user: osUser().slice(0, 255),
  })
}

export async function readHistory(knex: Knex, options: {limit: number; command?: string}): Promise<HistoryEntry[]> {
  const query = knex(TABLES.history).orderBy('id', 'desc').limit(options.limit)
  if (options.command) query.where('command', options.command)
  const rows = await query
  return rows.map((r) => ({
    at: new Date(Number(r.at)).toISOString(),
    command: r.command,
    detail: JSON.parse(r.detail),
    host: r.host,
    id: Number(r.id),
    osUser: r.os_user,
  }))
}
