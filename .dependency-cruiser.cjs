/**
 * Import rules checked by `npm test` (test/architecture.test.ts runs dependency-cruiser with this file):
 *  - no import cycle anywhere in src/ or commands/ (type-only imports count: a cycle of types is still
 *    a knot a reader has to untie);
 *  - the broker imports only node:*, npm packages, src/config and itself: nothing from the CLI side.
 *    src/broker/main.ts is the exception: it is the broker PROCESS entry (a composition root, like
 *    bin/), which joins the CLI's option parsing and pid-file handling (src/control) to the broker;
 *    it keeps its path because `start`, `build` and the systemd unit run dist/src/broker/main.js.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle (type-only imports included). Move the shared piece into a leaf module.',
      from: {path: '^(src|commands)/'},
      to: {circular: true},
    },
    {
      name: 'broker-imports-only-config',
      severity: 'error',
      comment: 'The broker imports nothing from the CLI side: only node:*, npm packages, src/config and src/broker.',
      from: {path: '^src/broker/', pathNot: '^src/broker/main\\.ts$'},
      to: {path: '^(src/|commands/|bin/)', pathNot: '^src/(broker|config)/'},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(node_modules|dist)/'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
  },
}
