/**
 * Runs src/build/entry.ts as a bundle would, in a child process (test/build/entry.test.ts): the two
 * constants esbuild's `define` puts in a bundle come from the environment here, and what the entry
 * set up is reported on stderr when it exits (it calls process.exit with runMain's code).
 */
const g = globalThis as Record<string, unknown>
g.__MQTTCTL_VERSION__ = process.env.T_VERSION
g.__MQTTCTL_OPTIMIZE__ = process.env.T_OPTIMIZE
const exit = process.exit.bind(process)
process.exit = ((code?: number) => {
  process.stderr.write(`entry-env version=${process.env.MQTTCTL_VERSION} assert=${process.env.MQTTCTL_ASSERT ?? '-'}\n`)
  return exit(code)
}) as typeof process.exit
await import('../../src/build/entry.js')
