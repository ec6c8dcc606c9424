/**
 * Import rules checked by `npm test` (test/architecture.test.ts runs dependency-cruiser with this file):
 *  - no import cycle anywhere in src/ or commands/ (type-only imports count: a cycle of types is still
 *    a knot a reader has to untie);
 *  - the broker imports only node:*, npm packages, src/config, itself and the node-only leaf modules
 *    src/{errors,fs,net,paths}.ts: nothing from the CLI side. The broker process (src/broker/main.ts,
 *    src/broker/process/) is on the broker side too; the CLI imports it, never the reverse;
 *  - those leaf modules import only node:* (they are shared by both sides, so they stay leaves).
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
      comment: 'The broker imports nothing from the CLI side: only node:*, npm packages, src/config, src/broker and src/{errors,fs,net,paths}.ts.',
      from: {path: '^src/broker/'},
      to: {path: '^(src/|commands/|bin/)', pathNot: ['^src/(broker|config)/', '^src/(errors|fs|net|paths)\\.ts$']},
    },
    {
      name: 'leaf-modules-import-only-node',
      severity: 'error',
      comment: 'src/{errors,fs,net,paths}.ts are shared by the broker and the CLI: node:* imports only.',
      from: {path: '^src/(errors|fs|net|paths)\\.ts$'},
      to: {path: '^(src/|commands/|bin/)'},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(node_modules|dist)/'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
  },
}
