/** A forked bench worker for test/bench/worker.test.ts: src/bench/worker.ts as the parent's fork runs it. */
await import('../../src/bench/worker.js')
