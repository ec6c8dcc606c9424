import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Lets @oclif/test's runCommand capture process.stdout/stderr (oclif/test issue #645).
    disableConsoleIntercept: true,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Two cores: keep socket-heavy files from starving each other.
    maxWorkers: 2,
  },
})
