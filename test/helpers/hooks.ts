/** Mocha root hooks: start the database servers once, in parallel, and stop them at the end. */
import {startAllServers, stopAllServers} from './engines.js'

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000)
    await stopAllServers()
  },
  async beforeAll(this: Mocha.Context) {
    this.timeout(180_000)
    await startAllServers()
  },
}
