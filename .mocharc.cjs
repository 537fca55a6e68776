// SPEC=test/e2e/routing.test.ts npm test -- narrows a run to some files.
module.exports = {
  'node-option': ['import=tsx', 'no-warnings'],
  require: ['test/helpers/hooks.ts'],
  spec: process.env.SPEC ? process.env.SPEC.split(',') : ['test/**/*.test.ts'],
  timeout: 30000,
  reporter: './test/helpers/reporter.cjs',
  // Leave nothing running after the last test (servers are stopped by the root hooks).
  exit: true,
}
