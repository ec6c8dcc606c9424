#!/usr/bin/env node
// `mqttctl start` in the foreground runs without oclif (src/control/fast-start.ts), so the process
// that waits beside the broker stays small; anything it does not take (and every other command)
// goes to oclif as before.
if (process.argv[2] === 'start') {
  const fast = await import('../dist/src/control/fast-start.js').catch(() => undefined)
  const code = await fast?.fastStart(process.argv.slice(3))
  if (code !== undefined) process.exit(code)
}
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
