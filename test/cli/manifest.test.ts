import {strict as assert} from 'node:assert'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {ROOT} from '../helpers/cli.js'

describe('oclif.manifest.json', () => {
  it('the committed manifest is the one the build generates', function () {
    let committed: string
    try {
      committed = execFileSync('git', ['show', 'HEAD:oclif.manifest.json'], {cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore']}).toString()
    } catch {
      this.skip() // not a git checkout (e.g. an unpacked tarball)
    }

    // `npm test` builds first, and the build regenerates oclif.manifest.json in the work tree.
    const built = readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')
    assert.deepEqual(JSON.parse(committed!), JSON.parse(built), 'oclif.manifest.json is stale: run `npm run build` and commit it')
  })

  it('lists every command file', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    for (const id of ['schema:init', 'backend:add', 'backend:list', 'backend:show', 'backend:update', 'backend:up', 'backend:down', 'backend:remove', 'hash']) {
      assert.ok(id in manifest.commands, id)
    }
  })
})
