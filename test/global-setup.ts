/**
 * One temporary directory per test run: every test (and every process a test starts) that asks
 * os.tmpdir() writes below it, and it is removed when the run ends, whatever a test left behind.
 */
import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-test-'))
  // Like /tmp itself: some tests run the CLI as an unprivileged user.
  chmodSync(dir, 0o1777)
  const previous = process.env.TMPDIR
  process.env.TMPDIR = dir
  return () => {
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    rmSync(dir, {recursive: true, force: true})
  }
}
