/** Heap growth (after gc) the fuzzer tolerates between its warm-up baseline and the end of a run. */
export const HEAP_SLACK = 16 * 1024 * 1024
