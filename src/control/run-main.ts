/**
 * The broker process's logic moved to src/broker/process/run-main.ts (the broker imports nothing
 * from the CLI side). Re-exported only for src/build/entry.ts, which names this path; point it at
 * the new one and delete this file.
 */
export * from '../broker/process/run-main.js'
