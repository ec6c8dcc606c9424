#!/usr/bin/env node
// Runs the TypeScript sources through tsx (oclif registers it itself; tsx is pinned, see STYLE.md §1a).
import {execute, settings} from '@oclif/core'

settings.enableAutoTranspile = true
settings.debug = true
await execute({dir: import.meta.url})
