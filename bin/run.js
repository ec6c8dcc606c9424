#!/usr/bin/env node
// `mqttctl start` in the foreground runs without oclif (src/control/fast-start.ts), so the process
// that waits beside the broker stays small; anything it does not take (and every other command)
// goes to oclif as before.
if (process.argv[2] === 'start') {
  const fast = await import('../dist/src/control/fast-start.js').catch(() => undefined)
  const code = await fast?.fastStart(process.argv.slice(3))
  if (code !== undefined) process.exit(code)
}
// oclif's root is dist/, where the build wrote the command manifest (src/cli/oclif-root.ts).
const [{execute}, {oclifLoadOptions}] = await Promise.all([import('@oclif/core'), import('../dist/src/cli/oclif-root.js')])
await execute({loadOptions: oclifLoadOptions()})
