/**
 * The exit codes and one-line errors of start, stop, status, reload and the runtime: they live with
 * the runtime (src/broker/process/errors.ts, which the broker process may import); re-exported here
 * for the CLI's modules.
 */
export * from '../broker/process/errors.js'
