/** Is a mail backend answering? Connect to its hostip and read the protocol's greeting. */
import {connect} from 'node:net'

export type Protocol = 'imap' | 'pop3' | 'lmtp'

export const DEFAULT_PORTS: Record<Protocol, number> = {imap: 143, lmtp: 24, pop3: 110}
const GREETING: Record<Protocol, RegExp> = {imap: /^\* (OK|PREAUTH)\b/, lmtp: /^220[ -]/, pop3: /^\+OK\b/}

export interface ProbeResult {
  ok: boolean
  /** First line the server sent (or the reason it failed). */
  detail: string
  ms: number
}

export function probe(host: string, port: number, protocol: Protocol, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    let buffer = ''
    let settled = false
    const socket = connect({host, port})
    const finish = (ok: boolean, detail: string) => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve({detail, ms: Date.now() - started, ok})
    }

    socket.setTimeout(timeoutMs, () => finish(false, `no greeting within ${timeoutMs} ms`))
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline === -1 && buffer.length < 512) return
      const line = buffer.slice(0, newline === -1 ? 512 : newline).replace(/\r$/, '')
      finish(GREETING[protocol].test(line), line.slice(0, 200))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message))
    socket.on('close', () => finish(false, 'connection closed before a greeting'))
  })
}

/** Probe with retries: ok as soon as one attempt is. */
export async function probeWithRetries(host: string, port: number, protocol: Protocol, timeoutMs: number, retries: number): Promise<ProbeResult> {
  let last: ProbeResult = {detail: 'not probed', ms: 0, ok: false}
  for (let attempt = 0; attempt <= retries; attempt++) {
    last = await probe(host, port, protocol, timeoutMs)
    if (last.ok) return last
  }

  return last
}

/** "90s", "15m", "2h", "1d" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim())
  if (!m) throw new Error(`Invalid duration ${JSON.stringify(text)}: use e.g. 90s, 15m, 2h, 1d`)
  const unit = {d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000}[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * unit
}
