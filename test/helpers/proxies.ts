/** Start simulated proxies (test/helpers/fake-proxy.ts) as separate processes. */
import {spawn} from 'node:child_process'
import path from 'node:path'

import {ROOT} from './cli.js'

export interface ProxyStats {
  lookups: number
  inserts: number
  errors: number
}

export function startFakeProxies(url: string, mode: string, count: number, ms: number, users: string[]): Promise<ProxyStats[]> {
  return Promise.all(Array.from({length: count}, () => new Promise<ProxyStats>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', path.join(ROOT, 'test/helpers/fake-proxy.ts'), url, mode, String(ms), ...users], {cwd: ROOT})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`fake proxy exited ${code}: ${err}`))))
  })))
}
