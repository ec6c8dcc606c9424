#!/usr/bin/env node
/**
 * The broker runtime's process entry: what `mqttctl start` runs as a child process, what
 * `mqttctl build` bundles, and what systemd can run directly (ExecStart=node .../main.js --config ...).
 *
 *   node dist/src/broker/main.js [--config FILE] [--port N] [--host H] [--data-dir D] [--log-level L] ...
 *
 * Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 could not start (port in use, permissions, data
 * directory, another broker on the data directory), 2 bad option or configuration, 130/143 second signal.
 * The logic lives in ./process/run-main.ts so tests can run it in-process.
 */
import {runMain} from './process/run-main.js'

runMain(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  },
)
