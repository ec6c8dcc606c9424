import {settings} from '@oclif/core'

// Load commands from TypeScript sources without oclif's dev-mode path warning (STYLE.md §1b).
settings.enableAutoTranspile = true
