/**
 * The data directory's files (broker.pid, broker.json, broker.log) and the process checks around
 * them: they live with the runtime (src/broker/process/state.ts, which the broker process may
 * import); re-exported here for the CLI's modules (start, stop, status, doctor, bench).
 */
export * from '../broker/process/state.js'
