/**
 * Parsers for the Dovecot 2.x director's outputs (`doveadm director status | dump | map`), in
 * all three formats doveadm prints: the padded text table, `-f tab` and `-f json`. The format
 * is detected; anything else is rejected with a line number.
 */
import {isIP} from 'node:net'

import {InputError} from '../errors.js'

export type Format = 'text' | 'tab' | 'json'

export interface DirectorHost {
  ip: string
  tag: string
  vhosts: number
  line: number
}

export interface StatusHost extends DirectorHost {
  up: boolean
  stateChanged: string | null
  users: number
}

export interface Dump {
  hosts: DirectorHost[]
  /** Hosts configured in director_mail_servers but removed at run time. */
  removed: string[]
}

export interface MapEntry {
  user: string
  hash: number | null
  ip: string
  line: number
}

function fail(file: string, line: number, message: string): InputError {
  return new InputError(`${file}:${line}: ${message}`)
}

export function detectFormat(text: string): Format {
  const first = text.split('\n').find((l) => l.trim() !== '') ?? ''
  if (first.trimStart().startsWith('[') || first.trimStart().startsWith('{')) return 'json'
  if (first.includes('\t')) return 'tab'
  return 'text'
}

interface Row {
  line: number
  values: Record<string, string>
}

/** Rows of a text table, cut at the header's column positions (values may contain spaces). */
function textRows(text: string, columns: string[], file: string): Row[] {
  const lines = text.split('\n')
  const headerIndex = lines.findIndex((l) => l.trim() !== '')
  const header = lines[headerIndex] ?? ''
  const starts: number[] = []
  let from = 0
  for (const name of columns) {
    const at = header.indexOf(name, from)
    if (at === -1 || (at > 0 && header[at - 1] !== ' ')) throw fail(file, headerIndex + 1, `expected a header with columns: ${columns.join(', ')}`)
    starts.push(at)
    from = at + name.length
  }

  const rows: Row[] = []
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '')
    if (raw.trim() === '') continue
    if (raw.includes('\t')) throw fail(file, i + 1, 'a tab in a text table (mixed formats?)')
    const values: Record<string, string> = {}
    columns.forEach((name, c) => {
      values[name] = raw.slice(starts[c], c + 1 < starts.length ? starts[c + 1] : undefined).trim()
    })
    // Everything must sit inside the columns: text before the first column means another format.
    if (raw.slice(0, starts[0]).trim() !== '') throw fail(file, i + 1, 'does not line up with the header')
    rows.push({line: i + 1, values})
  }

  return rows
}

function tabRows(text: string, columns: string[], file: string): Row[] {
  const lines = text.split('\n')
  const headerIndex = lines.findIndex((l) => l.trim() !== '')
  const header = lines[headerIndex].replace(/\r$/, '').split('\t')
  const index = columns.map((c) => header.indexOf(c))
  if (index.includes(-1)) throw fail(file, headerIndex + 1, `expected a header with columns: ${columns.join(', ')}`)
  const rows: Row[] = []
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '')
    if (raw === '') continue
    const fields = raw.split('\t')
    if (fields.length !== header.length) throw fail(file, i + 1, `expected ${header.length} tab-separated fields, found ${fields.length}`)
    rows.push({line: i + 1, values: Object.fromEntries(columns.map((c, k) => [c, fields[index[k]]]))})
  }

  return rows
}

function jsonRows(text: string, columns: string[], file: string): Row[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    const position = Number(/position (\d+)/.exec((error as Error).message)?.[1] ?? Number.NaN)
    const line = Number.isNaN(position) ? text.split('\n').length : text.slice(0, position).split('\n').length
    throw fail(file, line, 'not valid JSON (truncated?)')
  }

  if (!Array.isArray(doc)) throw fail(file, 1, 'expected a JSON array of rows')
  return doc.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw fail(file, 1, `row ${i + 1} is not an object`)
    const values: Record<string, string> = {}
    for (const c of columns) {
      const value = (entry as Record<string, unknown>)[c] ?? (entry as Record<string, unknown>)[c.replaceAll(' ', '-')]
      if (value === undefined) throw fail(file, 1, `row ${i + 1} has no "${c}"`)
      values[c] = String(value)
    }

    return {line: 1, values}
  })
}

function rowsOf(text: string, columns: string[], file: string): Row[] {
  if (text.trim() === '') throw fail(file, 1, 'the file is empty')
  const format = detectFormat(text)
  if (format === 'json') return jsonRows(text, columns, file)
  if (format === 'tab') return tabRows(text, columns, file)
  return textRows(text, columns, file)
}

function ipOf(value: string, file: string, line: number): string {
  if (!isIP(value)) throw fail(file, line, `${JSON.stringify(value)} is not an IP address`)
  return value
}

function count(value: string, what: string, file: string, line: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw fail(file, line, `${what} ${JSON.stringify(value)} is not a whole number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}`)
  return Number(value)
}

/** `doveadm director status` */
export function parseStatus(text: string, file: string): StatusHost[] {
  const columns = ['mail server ip', 'tag', 'vhosts', 'state', 'state changed', 'users']
  const format = detectFormat(text)
  const rows = format === 'json'
    ? jsonRows(text, columns.map((c) => (c === 'state changed' ? 'state-changed' : c)), file).map((r) => ({...r, values: {...r.values, 'state changed': r.values['state-changed']} as Record<string, string>}))
    : rowsOf(text, columns, file)
  return rows.map(({line, values}) => {
    if (values.state !== 'up' && values.state !== 'down') throw fail(file, line, `state ${JSON.stringify(values.state)} is neither up nor down`)
    return {
      ip: ipOf(values['mail server ip'], file, line),
      line,
      stateChanged: values['state changed'] === '-' ? null : values['state changed'],
      tag: values.tag,
      up: values.state === 'up',
      users: count(values.users, 'users', file, line),
      vhosts: count(values.vhosts, 'vhosts', file, line, 1000),
    }
  })
}

function hostWithTag(value: string, file: string, line: number): {ip: string; tag: string} {
  const at = value.indexOf('@')
  return at === -1 ? {ip: ipOf(value, file, line), tag: ''} : {ip: ipOf(value.slice(0, at), file, line), tag: value.slice(at + 1)}
}

/** `doveadm director dump` */
export function parseDump(text: string, file: string): Dump {
  const format = detectFormat(text)
  const hosts: DirectorHost[] = []
  const removed: string[] = []
  if (format === 'text') {
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i].replace(/\r$/, '')
      if (raw.trim() === '') continue
      const add = /^doveadm director add (?:-t (\S+) )?(\S+)(?: (\d+))?\s*$/.exec(raw)
      const remove = /^doveadm director remove (\S+)\s*$/.exec(raw)
      if (add) {
        const host = hostWithTag(add[2], file, i + 1)
        hosts.push({...host, line: i + 1, tag: add[1] ?? host.tag, vhosts: add[3] === undefined ? 100 : count(add[3], 'vhost count', file, i + 1, 1000)})
      } else if (remove) {
        removed.push(ipOf(remove[1], file, i + 1))
      } else {
        throw fail(file, i + 1, 'expected "doveadm director add HOST[@TAG] VHOSTS" or "doveadm director remove HOST"')
      }
    }
  } else {
    for (const {line, values} of rowsOf(text, ['command', 'host', 'vhost_count'], file)) {
      if (values.command === 'add') hosts.push({...hostWithTag(values.host, file, line), line, vhosts: count(values.vhost_count, 'vhost count', file, line, 1000)})
      else if (values.command === 'remove') removed.push(hostWithTag(values.host, file, line).ip)
      else throw fail(file, line, `unknown command ${JSON.stringify(values.command)}`)
    }
  }

  if (hosts.length === 0) throw fail(file, 1, 'no "add" lines: is this a director dump?')
  return {hosts: hosts.filter((h) => !removed.includes(h.ip)), removed}
}

/** `doveadm director map` */
export function parseMap(text: string, file: string): MapEntry[] {
  const rows = rowsOf(text, ['user', 'hash', 'mail server ip', 'expire time'], file)
  const entries: MapEntry[] = []
  for (const {line, values} of rows) {
    if (values.user === '<unknown>' || values.user === '') continue
    entries.push({
      hash: values.hash === '<unknown>' ? null : count(values.hash, 'hash', file, line),
      ip: ipOf(values['mail server ip'], file, line),
      line,
      user: values.user,
    })
  }

  return entries
}
