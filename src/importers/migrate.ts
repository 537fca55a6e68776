/**
 * Migration from the Dovecot 2.x director: hosts (dump and/or status) become backends, and
 * every user is placed where the director would send it (or by weight within its tag).
 */
import type {Backend, Backends} from '../director/backends.js'
import {asciiLowercase} from '../director/hash.js'
import {DirectorRing} from '../director/ring.js'
import {userNameProblem} from '../director/user.js'
import {InputError, RefusedError} from '../errors.js'
import type {DirectorHost, Dump, MapEntry, StatusHost} from './director2x.js'
import {LineErrors, readLines, splitFields} from './lines.js'

export interface Host {
  ip: string
  tag: string
  vhosts: number
  up: boolean
}

/** dump and status together: dump for the configured hosts, status for up/down. */
export function mergeHosts(dump: Dump | undefined, status: StatusHost[] | undefined): Host[] {
  if (!dump && !status) throw new InputError('Give the host list: --dump FILE and/or --status FILE')
  const byIp = new Map<string, Host>()
  for (const h of (dump?.hosts ?? []) as DirectorHost[]) byIp.set(h.ip, {ip: h.ip, tag: h.tag, up: true, vhosts: h.vhosts})
  for (const s of status ?? []) {
    if (dump && !byIp.has(s.ip)) continue
    byIp.set(s.ip, {ip: s.ip, tag: byIp.get(s.ip)?.tag ?? s.tag, up: s.up, vhosts: byIp.get(s.ip)?.vhosts ?? s.vhosts})
  }

  return [...byIp.values()]
}

export interface UserLine {
  user: string
  tag: string
  line: number
}

/** Lines of a `user<TAB>tag` (or CSV) file; one empty-tag column may be left out. */
export async function* userLines(file: string, lowercase: boolean, errors?: LineErrors): AsyncGenerator<UserLine> {
  for await (const {number, text} of readLines(file)) {
    if (text.trim() === '' || text.startsWith('#')) continue
    let fields: string[]
    try {
      fields = splitFields(text)
    } catch (error) {
      errors?.add(number, (error as Error).message)
      continue
    }

    if (fields.length > 2) {
      errors?.add(number, `expected "user<TAB>tag", found ${fields.length} fields`)
      continue
    }

    const problem = userNameProblem(fields[0])
    if (problem) {
      errors?.add(number, problem)
      continue
    }

    yield {line: number, tag: (fields[1] ?? '').trim(), user: lowercase ? asciiLowercase(fields[0]) : fields[0]}
  }
}

export interface UsersSummary {
  users: number
  perTag: Map<string, number>
}

/**
 * Pass 1: validate the whole user file before anything is written: bad lines, a user listed
 * twice with different tags, and tags no host has are all reported with line numbers.
 */
export async function validateUsers(file: string, hosts: Host[], lowercase: boolean): Promise<UsersSummary> {
  const errors = new LineErrors(file)
  const knownTags = new Set(hosts.map((h) => h.tag))
  const seen = new Map<string, number>()
  const tagIds = new Map<string, number>()
  const perTag = new Map<string, number>()
  const tagNames: string[] = []
  let users = 0
  for await (const {line, tag, user} of userLines(file, lowercase, errors)) {
    if (!knownTags.has(tag)) {
      errors.add(line, tag ? `tag ${JSON.stringify(tag)}: no host has it` : 'no tag, and no host is untagged')
      continue
    }

    let tagId = tagIds.get(tag)
    if (tagId === undefined) {
      tagId = tagNames.push(tag) - 1
      tagIds.set(tag, tagId)
    }

    // Packed: line number * 1024 + tag index, so the check stays one Map entry per user.
    const previous = seen.get(user)
    if (previous !== undefined) {
      const previousTag = previous % 1024
      if (previousTag !== tagId) errors.add(line, `${user} has tag ${JSON.stringify(tag)} here but ${JSON.stringify(tagNames[previousTag])} on line ${Math.floor(previous / 1024)}`)
      continue
    }

    seen.set(user, line * 1024 + tagId)
    perTag.set(tag, (perTag.get(tag) ?? 0) + 1)
    users++
  }

  errors.throwIfAny()
  for (const [tag, n] of perTag) {
    if (n > 0 && !hosts.some((h) => h.tag === tag && h.up && h.vhosts > 0)) {
      throw new RefusedError(`No host ${tag ? `with tag ${JSON.stringify(tag)}` : 'without a tag'} is up (with vhosts > 0) for its ${n} user(s); nothing was changed`, ['Bring one up in the 2.x director, or fix the status file'])
    }
  }

  return {perTag, users}
}

/** Create or update a backend for every 2.x host (IP as hostname and hostip). Returns ip -> backend. */
export async function syncBackends(backends: Backends, hosts: Host[], dryRun: boolean): Promise<{byIp: Map<string, Backend>; created: number; updated: number}> {
  const existing = await backends.list()
  const byIp = new Map<string, Backend>()
  let created = 0
  let updated = 0
  let nextFake = -1
  for (const host of hosts) {
    const found = existing.find((b) => b.hostip === host.ip || b.hostname === host.ip)
    const tags = host.tag ? [host.tag] : []
    const state = host.up ? 0 : 1
    if (!found) {
      created++
      byIp.set(host.ip, dryRun
        ? {downBy: null, hostip: host.ip, hostname: host.ip, id: nextFake--, state, stateChangedAt: null, tags, weight: host.vhosts}
        : await backends.add({hostip: host.ip, hostname: host.ip, state, tags, weight: host.vhosts}))
      continue
    }

    const same = found.weight === host.vhosts && found.tags.join(',') === tags.join(',') && (found.state === 0) === host.up
    if (!same) {
      updated++
      if (!dryRun) {
        await backends.update(found.id, {tags, weight: host.vhosts})
        if ((found.state === 0) !== host.up) await backends.setState(found.id, host.up)
      }
    }

    byIp.set(host.ip, {...found, state, tags, weight: host.vhosts})
  }

  return {byIp, created, updated}
}

/** The 2.x director's choice for each tag: a ring of that tag's up hosts. */
export function ringsByTag(hosts: Host[]): Map<string, DirectorRing> {
  const rings = new Map<string, DirectorRing>()
  for (const tag of new Set(hosts.map((h) => h.tag))) rings.set(tag, new DirectorRing(hosts.filter((h) => h.tag === tag && h.up && h.vhosts > 0)))
  return rings
}

/** user -> ip from a map output (lowercased like the user file). */
export function mapIndex(entries: MapEntry[] | undefined, lowercase: boolean): Map<string, string> {
  const index = new Map<string, string>()
  for (const e of entries ?? []) index.set(lowercase ? asciiLowercase(e.user) : e.user, e.ip)
  return index
}
