/**
 * `mqttctl passwd FILE USER`: adds, changes or deletes a user in a Mosquitto password file, as
 * mosquitto_passwd does, so the file stays readable by Mosquitto too. Writes $7$ (PBKDF2-SHA512)
 * with DEFAULT_ITERATIONS. The file is replaced atomically (temp file in the same directory, mode
 * 0600, fsync, rename): a reader (the broker on SIGHUP) sees the old or the new file, never half.
 * Other lines (comments, other users) are kept as they are. Nothing here prints a hash.
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {basename, dirname, join} from 'node:path'
import {AuthFileError} from '../broker/auth/files.js'
import {checkUsername, isIgnorable, parsePasswordLines} from '../broker/auth/password-file.js'
import {DEFAULT_ITERATIONS, hashPassword, MAX_ITERATIONS} from '../broker/auth/password-hash.js'
import {MqttctlError} from '../errors.js'

/** MQTT passwords are binary data of at most 65,535 bytes. */
export const MAX_PASSWORD_BYTES = 65_535

export interface PasswdRequest {
  file: string
  user: string
  /** Absent with `delete`. */
  password?: Buffer
  /** Start a new file (replacing any existing one), as mosquitto_passwd -c. */
  create?: boolean
  delete?: boolean
  iterations?: number
}

export interface PasswdResult {
  file: string
  user: string
  action: 'added' | 'changed' | 'deleted'
  /** Users in the file afterwards. */
  users: number
}

export class PasswdError extends MqttctlError {}

export function checkPassword(password: Buffer): void {
  if (password.length === 0) throw new PasswdError('a password cannot be empty', 2)
  if (password.length > MAX_PASSWORD_BYTES) throw new PasswdError(`a password is at most ${MAX_PASSWORD_BYTES} bytes (MQTT)`, 2)
}

export function checkIterations(n: number): void {
  if (!Number.isInteger(n) || n < 1_000 || n > MAX_ITERATIONS) throw new PasswdError(`--iterations ${n} is not allowed: expected an integer from 1,000 to ${MAX_ITERATIONS.toLocaleString('en-US')} (default ${DEFAULT_ITERATIONS.toLocaleString('en-US')})`, 2)
}

function readLines(file: string): string[] | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new PasswdError(`cannot read ${file}: ${code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`)
  }
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/** Writes `text` to `file` atomically with mode 0600. */
export function writeAtomic(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'wx', 0o600)
    writeSync(fd, text)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(tmp, file)
  } catch (error) {
    if (fd !== undefined) closeSync(fd)
    rmSync(tmp, {force: true})
    const code = (error as NodeJS.ErrnoException).code
    throw new PasswdError(`cannot write ${file}: ${code === 'EACCES' ? 'permission denied (the directory must be writable)' : code === 'ENOENT' ? 'no such directory' : (error as Error).message}; the file was not changed`)
  }
  try {
    const dfd = openSync(dirname(file), 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // Directory fsync is best effort (not supported everywhere).
  }
}

export function updatePasswordFile(req: PasswdRequest): PasswdResult {
  const bad = checkUsername(req.user)
  if (bad) throw new PasswdError(`user name ${JSON.stringify(req.user)} is not allowed: ${bad}`, 2)
  if (req.create && req.delete) throw new PasswdError('-c (create) and -D (delete) cannot be used together', 2)
  const iterations = req.iterations ?? DEFAULT_ITERATIONS
  checkIterations(iterations)
  const existing = req.create ? [] : readLines(req.file)
  if (existing === undefined) throw new PasswdError(`${req.file} does not exist; use -c to create it`, 2)
  try {
    parsePasswordLines(existing, 'password file', req.file)
  } catch (error) {
    if (error instanceof AuthFileError) throw new PasswdError(`${error.message}; fix or remove that line first (nothing was changed)`, 2)
    throw error
  }
  const index = existing.findIndex((l) => !isIgnorable(l) && l.slice(0, l.indexOf(':')) === req.user)
  let action: PasswdResult['action']
  const lines = [...existing]
  if (req.delete) {
    if (index < 0) throw new PasswdError(`user ${JSON.stringify(req.user)} is not in ${req.file}; nothing was changed`, 1)
    lines.splice(index, 1)
    action = 'deleted'
  } else {
    if (req.password === undefined) throw new PasswdError('a password is needed', 2)
    checkPassword(req.password)
    const line = `${req.user}:${hashPassword(req.password, iterations)}`
    if (index < 0) {
      lines.push(line)
      action = 'added'
    } else {
      lines[index] = line
      action = 'changed'
    }
  }
  writeAtomic(req.file, lines.length === 0 ? '' : `${lines.join('\n')}\n`)
  const users = lines.filter((l) => !isIgnorable(l)).length
  return {file: req.file, user: req.user, action, users}
}
