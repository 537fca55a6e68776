/**
 * Settings from flags, environment, config file and built-in defaults, in that order of
 * precedence. Nothing here opens a connection.
 */
import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'

import {parse as parseYaml} from 'yaml'

import {InputError} from './errors.js'

export type Mode = 'direct' | 'shard'

export interface ConfigFile {
  db?: string
  passwordFile?: string
  mode?: Mode
  lowercase?: boolean
  proxies?: string[]
  doveadm?: {apiKey?: string; password?: string; timeoutMs?: number}
}

export interface SettingFlags {
  db?: string
  config?: string
  mode?: string
  lowercase?: boolean
  dbPasswordFile?: string
  proxy?: string[]
}

export interface Settings {
  db: string
  /** Where the db URL came from: flag, env, config, default. */
  dbSource: 'flag' | 'env' | 'config' | 'default'
  passwordFile?: string
  mode?: Mode
  lowercase: boolean
  proxies: string[]
  doveadmApiKey?: string
  doveadmPassword?: string
  doveadmTimeoutMs: number
  configFile?: string
}

const CONFIG_KEYS = ['db', 'passwordFile', 'mode', 'lowercase', 'proxies', 'doveadm']

/** The embedded SQLite database used when nothing else is configured. */
export function defaultDatabaseFile(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME || path.join(env.HOME || homedir(), '.local', 'share')
  return path.join(dataHome, 'directorctl', 'director.db')
}

/** Config files looked for when neither --config nor DIRECTORCTL_CONFIG names one. */
export function defaultConfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config')
  return [path.join(configHome, 'directorctl', 'config.yml'), '/etc/directorctl/config.yml']
}

export function loadConfigFile(file: string): ConfigFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new InputError(`Cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }

  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (error) {
    const line = (error as {linePos?: {line: number}[]}).linePos?.[0]?.line
    throw new InputError(`The config file ${file} is not valid YAML${line ? ` (line ${line})` : ''}`)
  }

  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new InputError(`The config file ${file} must be a mapping of settings`)
  return validateConfig(doc as Record<string, unknown>, file)
}

function validateConfig(doc: Record<string, unknown>, file: string): ConfigFile {
  const bad = (key: string, want: string) => new InputError(`Config file ${file}: "${key}" must be ${want}`)
  for (const key of Object.keys(doc)) {
    if (!CONFIG_KEYS.includes(key)) throw new InputError(`Config file ${file}: unknown setting "${key}" (known: ${CONFIG_KEYS.join(', ')})`)
  }

  const config: ConfigFile = {}
  if (doc.db !== undefined) {
    if (typeof doc.db !== 'string') throw bad('db', 'a URL string')
    config.db = doc.db
  }

  if (doc.passwordFile !== undefined) {
    if (typeof doc.passwordFile !== 'string') throw bad('passwordFile', 'a file path')
    config.passwordFile = path.resolve(path.dirname(file), doc.passwordFile)
  }

  if (doc.mode !== undefined) {
    if (doc.mode !== 'direct' && doc.mode !== 'shard') throw bad('mode', 'direct or shard')
    config.mode = doc.mode
  }

  if (doc.lowercase !== undefined) {
    if (typeof doc.lowercase !== 'boolean') throw bad('lowercase', 'true or false')
    config.lowercase = doc.lowercase
  }

  if (doc.proxies !== undefined) {
    if (!Array.isArray(doc.proxies) || doc.proxies.some((p) => typeof p !== 'string')) throw bad('proxies', 'a list of URLs')
    config.proxies = doc.proxies as string[]
  }

  if (doc.doveadm !== undefined) {
    const d = doc.doveadm as Record<string, unknown>
    if (typeof d !== 'object' || d === null) throw bad('doveadm', 'a mapping with apiKey, password, timeoutMs')
    for (const key of Object.keys(d)) {
      if (!['apiKey', 'password', 'timeoutMs'].includes(key)) throw bad(`doveadm.${key}`, 'one of apiKey, password, timeoutMs')
    }

    if (d.apiKey !== undefined && typeof d.apiKey !== 'string') throw bad('doveadm.apiKey', 'a string')
    if (d.password !== undefined && typeof d.password !== 'string') throw bad('doveadm.password', 'a string')
    if (d.timeoutMs !== undefined && (!Number.isInteger(d.timeoutMs) || (d.timeoutMs as number) <= 0)) throw bad('doveadm.timeoutMs', 'a positive integer')
    config.doveadm = d as ConfigFile['doveadm']
  }

  return config
}

/** Apply precedence: flag > environment > config file > built-in default. */
export function resolveSettings(flags: SettingFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const explicitConfig = flags.config ?? env.DIRECTORCTL_CONFIG
  let configFile: string | undefined
  if (explicitConfig) {
    configFile = path.resolve(explicitConfig)
  } else {
    configFile = defaultConfigFiles(env).find((f) => existsSync(f))
  }

  const config = configFile ? loadConfigFile(configFile) : {}

  let db: string
  let dbSource: Settings['dbSource']
  if (flags.db) {
    db = flags.db
    dbSource = 'flag'
  } else if (env.DIRECTORCTL_DB) {
    db = env.DIRECTORCTL_DB
    dbSource = 'env'
  } else if (config.db) {
    db = config.db
    dbSource = 'config'
  } else {
    db = `sqlite:${defaultDatabaseFile(env)}`
    dbSource = 'default'
  }

  const mode = flags.mode ?? config.mode
  if (mode !== undefined && mode !== 'direct' && mode !== 'shard') throw new InputError(`--mode must be direct or shard, not "${mode}"`)

  return {
    configFile,
    db,
    dbSource,
    doveadmApiKey: env.DIRECTORCTL_DOVEADM_API_KEY ?? config.doveadm?.apiKey,
    doveadmPassword: env.DIRECTORCTL_DOVEADM_PASSWORD ?? config.doveadm?.password,
    doveadmTimeoutMs: config.doveadm?.timeoutMs ?? 5000,
    lowercase: flags.lowercase ?? parseBoolEnv(env.DIRECTORCTL_LOWERCASE) ?? config.lowercase ?? true,
    mode: mode as Mode | undefined,
    passwordFile: flags.dbPasswordFile ?? env.DIRECTORCTL_DB_PASSWORD_FILE ?? config.passwordFile,
    proxies: flags.proxy?.length ? flags.proxy : (config.proxies ?? []),
  }
}

function parseBoolEnv(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false
  throw new InputError(`DIRECTORCTL_LOWERCASE must be true or false, not "${value}"`)
}
