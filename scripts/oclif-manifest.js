#!/usr/bin/env node
// Writes oclif.manifest.json into a compiled tree: `node scripts/oclif-manifest.js DIR` (npm run build
// runs it on dist.tmp before the swap; the tests' dist builder on each build). See src/cli/oclif-root.ts.
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: node scripts/oclif-manifest.js DIR (a tree tsc compiled, holding src/ and commands/)\n')
  process.exit(2)
}
const root = resolve(dir)
const {writeManifest} = await import(pathToFileURL(`${root}/src/cli/oclif-root.js`).href)
await writeManifest(root)
