// Load commands from TypeScript sources without oclif's dev-mode path warning (STYLE.md §1b).
// oclif's `settings` is globalThis.oclif (@oclif/core lib/settings.js): set it without importing
// @oclif/core, which would cost every test file ~150 ms, most of which never run a command.
const g = globalThis as {oclif?: {enableAutoTranspile?: boolean}}
g.oclif ??= {}
g.oclif.enableAutoTranspile = true
