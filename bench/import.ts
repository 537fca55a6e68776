/**
 * Bulk import benchmark: 1,000,000 users through `import:director-tag` on each engine, next to
 * the engine's native bulk loader (LOAD DATA LOCAL INFILE, psql \copy, sqlite3 .import) loading
 * the same rows into the same table, timed in the same run. Prints the ratio tool / native.
 *
 *   npm run bench                  # all engines
 *   BENCH_USERS=200000 npm run bench
 *   DIRECTORCTL_TEST_ENGINES=sqlite npm run bench
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync, createWriteStream} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {asciiLowercase} from '../src/director/hash.js'
import {DirectorRing} from '../src/director/ring.js'
import {createTestDatabase, enabledEngines, stopAllServers, type TestDatabase} from '../test/helpers/engines.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const USERS = Number(process.env.BENCH_USERS ?? 1_000_000)
const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']
const work = mkdtempSync(path.join(tmpdir(), 'directorctl-bench-'))

async function writeLines(file: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file)
  for (let i = 0; i < count; i++) {
    if (!out.write(`${line(i)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }

  await new Promise<void>((resolve) => out.end(() => resolve()))
}

function cli(db: TestDatabase, args: string[]): number {
  const started = process.hrtime.bigint()
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {env: {...process.env, DIRECTORCTL_DB: db.url, HOME: work}, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`directorctl ${args.join(' ')} failed: ${r.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e9
}

function native(db: TestDatabase, file: string): number {
  const started = process.hrtime.bigint()
  if (db.engine === 'sqlite') {
    execFileSync('sqlite3', [db.name, '.mode tabs', `.import ${file} user_backend`])
  } else if (db.engine === 'mysql') {
    const s = db.server!
    execFileSync('mariadb', ['--local-infile=1', '-h', s.host, '-P', String(s.port), '-u', s.user, `-p${s.password}`, db.name, '-e', `LOAD DATA LOCAL INFILE '${file}' INTO TABLE user_backend FIELDS TERMINATED BY '\\t' (backend_id, user)`])
  } else {
    const s = db.server!
    execFileSync('psql', ['-h', s.host, '-p', String(s.port), '-U', s.user, '-d', db.name, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy user_backend(backend_id, "user") from '${file}'`], {env: {...process.env, PGPASSWORD: s.password}})
  }

  return Number(process.hrtime.bigint() - started) / 1e9
}

async function main(): Promise<void> {
  const usersFile = path.join(work, 'users.tsv')
  const dumpFile = path.join(work, 'dump.txt')
  const nativeFile = path.join(work, 'native.tsv')
  writeFileSync(dumpFile, HOSTS.map((ip) => `doveadm director add ${ip} 100`).join('\n') + '\n')
  const name = (i: number) => `user${i}@bench.example.com`
  await writeLines(usersFile, USERS, (i) => `${name(i)}\t`)
  // The same placement for the native loader (computed outside the timing).
  const ring = new DirectorRing(HOSTS.map((ip) => ({ip, vhosts: 100})))
  await writeLines(nativeFile, USERS, (i) => `${HOSTS.indexOf(ring.hostFor(name(i))) + 1}\t${asciiLowercase(name(i))}`)

  const rows: string[] = []
  for (const engine of enabledEngines()) {
    const toolDb = await createTestDatabase(engine)
    const nativeDb = await createTestDatabase(engine)
    try {
      cli(toolDb, ['schema:init', '--mode', 'direct'])
      cli(nativeDb, ['schema:init', '--mode', 'direct'])
      const tool = cli(toolDb, ['import:director-tag', '--dump', dumpFile, '--users', usersFile, '--yes'])
      const baseline = native(nativeDb, nativeFile)
      rows.push(`${engine.padEnd(9)} users=${USERS}  directorctl ${tool.toFixed(1)} s  native ${baseline.toFixed(1)} s  ratio ${(tool / baseline).toFixed(2)}`)
      process.stdout.write(`${rows.at(-1)}\n`)
    } finally {
      await toolDb.drop()
      await nativeDb.drop()
    }
  }

  await stopAllServers()
  rmSync(work, {force: true, recursive: true})
  process.stdout.write(`\nimport benchmark (${USERS} users, 4 hosts, direct mode)\n${rows.join('\n')}\n`)
}

await main()
