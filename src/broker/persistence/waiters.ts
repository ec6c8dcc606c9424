/**
 * whenDurable() callbacks waiting for a change count to reach the disk, kept in count order and
 * released in that order (the handlers' acks go out in the order their operations came in).
 */
interface Waiter {
  seq: number
  cb: (err?: Error) => void
}

export class Waiters {
  #list: Waiter[] = []
  #head = 0

  add(seq: number, cb: (err?: Error) => void): void {
    const ws = this.#list
    let i = ws.length
    // Callers pass the current writeSeq, so this is an append but for a rare older count.
    while (i > this.#head && ws[i - 1].seq > seq) i--
    if (i === ws.length) ws.push({seq, cb})
    else ws.splice(i, 0, {seq, cb})
  }

  /** Calls back every waiter for a count up to `upTo`. */
  release(upTo: number): void {
    const ws = this.#list
    let i = this.#head
    while (i < ws.length && ws[i].seq <= upTo) {
      const w = ws[i++]
      this.#head = i
      w.cb()
    }
    if (i === ws.length) {
      this.#list = []
      this.#head = 0
    } else if (i > 1024) {
      this.#list = ws.slice(i)
      this.#head = 0
    } else this.#head = i
  }

  /** Tells every waiter the error. */
  failAll(err: Error): void {
    const ws = this.#list.slice(this.#head)
    this.#list = []
    this.#head = 0
    for (const w of ws) w.cb(err)
  }
}
