/** Run the built CLI (bin/run.js) as operators and scripts do: a real process, real exit codes. */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  json<T = unknown>(): T
}

const homes = mkdtempSync(path.join(tmpdir(), 'directorctl-homes-'))
process.on('exit', () => rmSync(homes, {force: true, recursive: true}))

/** An empty HOME so no operator config, ~/.my.cnf or ~/.pgpass leaks into tests. */
export const cleanHome = () => mkdtempSync(path.join(homes, 'home-'))

export async function runCli(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; home?: string} = {}): Promise<CliResult> {
  if (!existsSync(path.join(ROOT, 'dist', 'commands'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  const env: NodeJS.ProcessEnv = {
    HOME: options.home ?? cleanHome(),
    LANG: 'C.UTF-8',
    NODE_NO_WARNINGS: '1',
    PATH: process.env.PATH,
    ...options.env,
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      resolve({
        code: code ?? -1,
        json<T>() {
          try {
            return JSON.parse(stdout) as T
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\n--- stderr:\n${stderr}`)
          }
        },
        stderr,
        stdout,
      })
    })
    child.stdin.end(options.input ?? '')
  })
}
