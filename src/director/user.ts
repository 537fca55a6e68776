/** User names as the proxies see them. */
import {InputError} from '../errors.js'
import {asciiLowercase} from './hash.js'

export const MAX_USER_BYTES = 255

export interface UserNameOptions {
  /** Lowercase as Dovecot's default auth_username_format (%Lu / %{user | lower}) does. */
  lowercase: boolean
}

/** Why a user name cannot be stored, or undefined when it can. */
export function userNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the user name is empty'
  if (/[\u0000-\u001F\u007F]/.test(name)) return 'the user name contains a control character'
  if (/^\s|\s$/.test(name)) return 'the user name starts or ends with white space'
  if (Buffer.byteLength(name, 'utf8') > MAX_USER_BYTES) return `the user name is longer than ${MAX_USER_BYTES} bytes`
  if (name.includes('\uFFFD')) return 'the user name is not valid UTF-8'
  return undefined
}

/**
 * The name the proxies will look up: validated, and lowercased like Dovecot's str_lcase
 * (ASCII only, so "Üser" keeps its "Ü") unless lowercasing is turned off.
 */
export function normalizeUser(name: string, options: UserNameOptions): string {
  const problem = userNameProblem(name)
  if (problem) throw new InputError(`Invalid user name ${JSON.stringify(name)}: ${problem}`)
  return options.lowercase ? asciiLowercase(name) : name
}
