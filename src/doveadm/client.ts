/**
 * The doveadm HTTP API, for kicking users off every proxy after a move.
 * Dovecot 2.3: `proxyKick` with `user`; 2.4: `kick` with `mask` (one implementation for
 * local and proxied sessions). Which one a proxy speaks is read from GET /doveadm/v1.
 */
import {InputError} from '../errors.js'

export interface DoveadmAuth {
  apiKey?: string
  password?: string
}

export interface KickResult {
  proxy: string
  ok: boolean
  /** Connections kicked (0 when the user had none on that proxy). */
  kicked: number
  error?: string
}

type Dialect = {command: 'proxyKick'; param: 'user'} | {command: 'kick'; param: 'mask'} | {command: 'proxyKick'; param: 'mask'}

export function normalizeProxyUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InputError(`Invalid proxy URL ${JSON.stringify(url)}: use http://host:port (the doveadm HTTP listener)`)
  }

  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InputError(`Invalid proxy URL ${JSON.stringify(url)}: use http:// or https://`)
  if (parsed.username || parsed.password) throw new InputError('Put the doveadm API key in DIRECTORCTL_DOVEADM_API_KEY or the config file, not in the proxy URL')
  return `${parsed.protocol}//${parsed.host}`
}

export class DoveadmClient {
  private dialect?: Promise<Dialect>

  constructor(
    readonly proxy: string,
    private readonly auth: DoveadmAuth,
    private readonly timeoutMs = 5000,
  ) {
    if (!auth.apiKey && !auth.password) {
      throw new InputError('Kicking needs the doveadm API key (DIRECTORCTL_DOVEADM_API_KEY or doveadm.apiKey in the config file) or password (DIRECTORCTL_DOVEADM_PASSWORD)')
    }
  }

  private headers(): Record<string, string> {
    const authorization = this.auth.apiKey
      ? `X-Dovecot-API ${Buffer.from(this.auth.apiKey).toString('base64')}`
      : `Basic ${Buffer.from(`doveadm:${this.auth.password}`).toString('base64')}`
    return {accept: 'application/json', authorization, 'content-type': 'application/json'}
  }

  private async request(method: 'GET' | 'POST', body?: unknown): Promise<unknown> {
    let response: Response
    try {
      response = await fetch(`${this.proxy}/doveadm/v1`, {
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: this.headers(),
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (error) {
      const cause = (error as {cause?: {code?: string}}).cause?.code ?? (error as Error).name
      throw new Error(cause === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : `unreachable (${cause})`)
    }

    if (response.status === 401 || response.status === 403) throw new Error(`HTTP ${response.status}: the API key or password was not accepted`)
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    try {
      return await response.json()
    } catch {
      throw new Error('the answer was not JSON')
    }
  }

  /** Which kick command and parameter this proxy's Dovecot understands. */
  private detect(): Promise<Dialect> {
    this.dialect ??= this.request('GET').then((list) => {
      const commands = new Map<string, string[]>()
      for (const entry of (Array.isArray(list) ? list : []) as {command?: string; parameters?: {name?: string}[]}[]) {
        if (entry.command) commands.set(entry.command, (entry.parameters ?? []).map((p) => p.name ?? ''))
      }

      if (commands.get('proxyKick')?.includes('user')) return {command: 'proxyKick', param: 'user'} as Dialect
      if (commands.get('kick')?.includes('mask') && commands.get('kick')?.some((p) => p === 'destHost' || p === 'passdbField')) {
        return {command: 'kick', param: 'mask'} as Dialect
      }

      if (commands.get('proxyKick')?.includes('mask')) return {command: 'proxyKick', param: 'mask'} as Dialect
      throw new Error('this doveadm HTTP API has no proxyKick or kick command')
    })
    return this.dialect
  }

  /** Kick every session of `users` proxied by this proxy. Never throws: the result says. */
  async kick(users: string[]): Promise<KickResult> {
    try {
      const dialect = await this.detect()
      const reply = await this.request('POST', [[dialect.command, {[dialect.param]: users}, 'kick']])
      return {kicked: parseKickReply(reply), ok: true, proxy: this.proxy}
    } catch (error) {
      return {error: (error as Error).message, kicked: 0, ok: false, proxy: this.proxy}
    }
  }

  /** Live proxied sessions (username, dest-ip), for checks and tests. */
  async proxyList(): Promise<{username: string; destIp: string}[]> {
    const reply = (await this.request('POST', [['proxyList', {}, 'list']])) as [string, unknown, string][]
    const [type, rows] = reply[0] ?? []
    if (type !== 'doveadmResponse' || !Array.isArray(rows)) throw new Error('unexpected proxyList reply')
    return rows.map((r: Record<string, string>) => ({destIp: r['dest-ip'] ?? r.ips ?? '', username: r.username}))
  }
}

/** `[["doveadmResponse",[{"count":"1"}],"kick"]]`; exit code 68 means nobody matched. */
export function parseKickReply(reply: unknown): number {
  const [type, payload] = (Array.isArray(reply) ? reply[0] : undefined) ?? []
  if (type === 'doveadmResponse') {
    return (Array.isArray(payload) ? payload : []).reduce((sum: number, row: {count?: string}) => sum + Number(row?.count ?? 0), 0)
  }

  if (type === 'error' && (payload as {exitCode?: number})?.exitCode === 68) return 0
  throw new Error(`doveadm answered ${JSON.stringify(payload ?? reply)}`)
}

/** Kick on every proxy in parallel; one unreachable proxy does not stop the others. */
export async function kickEverywhere(proxies: string[], users: string[], auth: DoveadmAuth, timeoutMs?: number): Promise<KickResult[]> {
  if (proxies.length === 0) {
    throw new InputError('No proxies to kick on: pass --proxy http://proxy:8080 (repeatable) or list them under proxies: in the config file')
  }

  return Promise.all(proxies.map((p) => new DoveadmClient(normalizeProxyUrl(p), auth, timeoutMs).kick(users)))
}
