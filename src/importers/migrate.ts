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
import {fieldsOf, LineErrors, readLines} from './lines.js'

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
    const fields = fieldsOf(text, number, errors)
    if (!fields) continue

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
  /** Lines that repeat an earlier line's user and tag: skipped when writing. */
  repeats: Set<number>
}

/** A 53-bit hash of a string (cyrb53): one number per user keeps the duplicate check small. */
export function hash53(text: string): number {
  let h1 = 0xDE_AD_BE_EF
  let h2 = 0x41_C6_CE_57
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2_654_435_761)
    h2 = Math.imul(h2 ^ ch, 1_597_334_677)
  }

  h1 = Math.imul(h1 ^ (h1 >>> 16), 2_246_822_507) ^ Math.imul(h2 ^ (h2 >>> 13), 3_266_489_909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2_246_822_507) ^ Math.imul(h1 ^ (h1 >>> 13), 3_266_489_909)
  return 4_294_967_296 * (2_097_151 & h2) + (h1 >>> 0)
}

/**
 * Pass 1: validate the whole user file before anything is written: bad lines, a user listed
 * twice with different tags, and tags no host has are all reported with line numbers.
 * Memory: one number pair per distinct user (a hash, and line and tag packed); a hash match is
 * confirmed by reading the two lines again, so a collision is never mistaken for a duplicate.
 */
export async function validateUsers(file: string, hosts: Host[], lowercase: boolean): Promise<UsersSummary> {
  const errors = new LineErrors(file)
  const knownTags = new Set(hosts.map((h) => h.tag))
  const seen = new Map<number, number>()
  const tagIds = new Map<string, number>()
  const perTag = new Map<string, number>()
  const tagNames: string[] = []
  const candidates: {first: number; later: number; tag: string; firstTag: string}[] = []
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

    const key = hash53(user)
    const previous = seen.get(key)
    if (previous !== undefined) {
      candidates.push({first: Math.floor(previous / 1024), firstTag: tagNames[previous % 1024], later: line, tag})
      continue
    }

    seen.set(key, line * 1024 + tagId)
    perTag.set(tag, (perTag.get(tag) ?? 0) + 1)
    users++
  }

  seen.clear()
  const repeats = new Set<number>()
  if (candidates.length > 0) {
    const wanted = new Set(candidates.flatMap((c) => [c.first, c.later]))
    const names = new Map<number, string>()
    for await (const {line, user} of userLines(file, lowercase)) if (wanted.has(line)) names.set(line, user)
    for (const c of candidates) {
      const user = names.get(c.later)!
      if (names.get(c.first) !== user) {
        // Two users with one hash: both are real.
        perTag.set(c.tag, (perTag.get(c.tag) ?? 0) + 1)
        users++
      } else if (c.tag === c.firstTag) {
        repeats.add(c.later)
      } else {
        errors.add(c.later, `${user} has tag ${JSON.stringify(c.tag)} here but ${JSON.stringify(c.firstTag)} on line ${c.first}`)
      }
    }
  }

  errors.throwIfAny()
  for (const [tag, n] of perTag) {
    if (n > 0 && !hosts.some((h) => h.tag === tag && h.up && h.vhosts > 0)) {
      throw new RefusedError(`No host ${tag ? `with tag ${JSON.stringify(tag)}` : 'without a tag'} is up (with vhosts > 0) for its ${n} user(s); nothing was changed`, ['Bring one up in the 2.x director, or fix the status file'])
    }
  }

  return {perTag, repeats, users}
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
