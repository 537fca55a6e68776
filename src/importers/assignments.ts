/**
 * `user,backend` files (CSV or TSV, header optional) for user:assign --file. The whole file is
 * validated before anything is written: every bad line is reported with its number.
 */
import type {Backend} from '../director/backends.js'
import type {Key, Mapping, Move} from '../director/mapping.js'
import {userNameProblem} from '../director/user.js'
import {asciiLowercase} from '../director/hash.js'
import {fieldsOf, LineErrors, readLines} from './lines.js'

export interface Assignment {
  line: number
  user: string
  key: Key
  backend: Backend
}

export interface ParsedAssignments {
  assignments: Assignment[]
  /** Lines after dropping exact repeats. */
  lines: number
}

export async function parseAssignmentFile(
  file: string,
  options: {backends: Backend[]; lowercase: boolean; mapping: Mapping},
): Promise<ParsedAssignments> {
  const byId = new Map(options.backends.map((b) => [String(b.id), b]))
  const byName = new Map(options.backends.map((b) => [b.hostname.toLowerCase(), b]))
  const errors = new LineErrors(file)
  const seenUser = new Map<string, Assignment>()
  const seenKey = new Map<Key, Assignment>()
  const assignments: Assignment[] = []
  let lines = 0

  for await (const {number, text} of readLines(file)) {
    if (text.trim() === '' || text.startsWith('#')) continue
    const fields = fieldsOf(text, number, errors)
    if (!fields) continue

    if (fields.length !== 2) {
      errors.add(number, `expected 2 fields (user, backend), found ${fields.length}`)
      continue
    }

    const [rawUser, rawBackend] = [fields[0], fields[1].trim()]
    if (number === 1 && /^user(name)?$/i.test(rawUser.trim()) && /^backend(_id)?$|^host(name)?$/i.test(rawBackend)) continue
    lines++
    const problem = userNameProblem(rawUser)
    if (problem) {
      errors.add(number, problem)
      continue
    }

    const backend = byId.get(rawBackend) ?? byName.get(rawBackend.toLowerCase())
    if (!backend) {
      errors.add(number, `no backend ${JSON.stringify(rawBackend)}`)
      continue
    }

    const user = options.lowercase ? asciiLowercase(rawUser) : rawUser
    const key = options.mapping.keyOf(user)
    const entry = {backend, key, line: number, user}
    const sameUser = seenUser.get(user)
    if (sameUser) {
      if (sameUser.backend.id !== backend.id) errors.add(number, `${user} is already assigned to ${sameUser.backend.hostname} on line ${sameUser.line}`)
      continue
    }

    const sameKey = seenKey.get(key)
    if (sameKey && sameKey.backend.id !== backend.id) {
      errors.add(number, `${user} is in ${options.mapping.describe(key)} with ${sameKey.user} (line ${sameKey.line}), which goes to ${sameKey.backend.hostname}; one shard has one backend`)
      continue
    }

    seenUser.set(user, entry)
    if (!sameKey) {
      seenKey.set(key, entry)
      assignments.push(entry)
    }
  }

  errors.throwIfAny()
  return {assignments, lines}
}

/** What must change so that every key is where the file says. */
export function planAssignments(assignments: {key: Key; backend: {id: number}}[], routes: Map<Key, number>): Move[] {
  const moves: Move[] = []
  for (const a of assignments) {
    const current = routes.get(a.key)
    if (current === a.backend.id) continue
    moves.push({from: current ?? null, key: a.key, to: a.backend.id})
  }

  return moves
}
