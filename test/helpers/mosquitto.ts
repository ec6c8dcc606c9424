/**
 * Runs Debian's mosquitto_pub / mosquitto_sub against a broker under test, with bounded timeouts.
 * Missing binaries are a test failure with a clear message (CI installs the mosquitto-clients
 * package), never a skip.
 */
import {execa, type ResultPromise} from 'execa'
import {waitFor} from './mqtt.js'

export type MosquittoVersion = '31' | '311' | '5'

/** Throws a clear error when mosquitto_pub / mosquitto_sub are not installed. */
export async function requireMosquittoClients(): Promise<void> {
  for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], {reject: false})
    if (found.exitCode !== 0) {
      throw new Error(
        `${tool} is not installed: the interop tests need Debian's mosquitto-clients ` +
          `(apt-get install mosquitto-clients); they are required, not optional`,
      )
    }
  }
}

/** Common flags: host, port and protocol version. */
function base(port: number, version: MosquittoVersion): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), '-V', version]
}

/** Runs mosquitto_pub to completion (killed after timeoutMs). Rejects on a non-zero exit. */
export async function mosquittoPub(
  port: number,
  version: MosquittoVersion,
  args: string[],
  timeoutMs = 10_000,
): Promise<{stdout: string; stderr: string}> {
  const result = await execa('mosquitto_pub', [...base(port, version), ...args], {timeout: timeoutMs, reject: false})
  if (result.exitCode !== 0) {
    throw new Error(`mosquitto_pub ${args.join(' ')} exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}: ${result.stderr}`)
  }
  return {stdout: result.stdout, stderr: result.stderr}
}

export interface RunningSub {
  /** stdout lines received so far. */
  readonly lines: string[]
  /** Waits until at least n lines arrived. */
  waitLines(n: number, timeoutMs?: number): Promise<string[]>
  /** Waits for the process to exit; resolves with its exit code and all lines. */
  done(): Promise<{exitCode: number | undefined; lines: string[]; stderr: string}>
  kill(): void
}

/**
 * Starts mosquitto_sub and streams its stdout lines. `-W` bounds it on the mosquitto side and
 * timeoutMs on ours. Track and kill it in afterEach via the returned kill().
 */
export function mosquittoSub(port: number, version: MosquittoVersion, args: string[], timeoutMs = 15_000): RunningSub {
  const child: ResultPromise = execa('mosquitto_sub', [...base(port, version), ...args], {
    timeout: timeoutMs,
    reject: false,
    buffer: true,
  })
  const lines: string[] = []
  let partial = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8')
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  return {
    lines,
    async waitLines(n, waitMs = 5000) {
      await waitFor(
        () => lines.length >= n || child.exitCode !== null,
        waitMs,
        `${n} line(s) from mosquitto_sub (got ${JSON.stringify(lines)})`,
      )
      if (lines.length < n) {
        const result = await child
        throw new Error(`mosquitto_sub exited ${result.exitCode} after ${JSON.stringify(lines)}: ${String(result.stderr)}`)
      }
      return lines
    },
    async done() {
      const result = await child
      if (partial) {
        lines.push(partial)
        partial = ''
      }
      return {exitCode: result.exitCode, lines, stderr: String(result.stderr)}
    },
    kill() {
      child.kill()
    },
  }
}
