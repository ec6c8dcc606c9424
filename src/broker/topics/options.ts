/**
 * SubOptions sharing: without a subscription identifier there are only 3 * 2 * 2 * 3 = 36 distinct
 * option sets, so every subscription points at one of 36 frozen objects instead of owning one.
 */
import type {SubOptions} from './types.js'

const table: Array<Readonly<SubOptions> | undefined> = new Array(36)

/** A shared frozen copy when possible; a private copy when the options carry a subscription id. */
export function internOptions(o: SubOptions): SubOptions {
  if (o.subscriptionId !== undefined) {
    return {
      qos: o.qos,
      noLocal: o.noLocal,
      retainAsPublished: o.retainAsPublished,
      retainHandling: o.retainHandling,
      subscriptionId: o.subscriptionId,
    }
  }
  const i = o.qos * 12 + (o.noLocal ? 6 : 0) + (o.retainAsPublished ? 3 : 0) + o.retainHandling
  let shared = table[i]
  if (shared === undefined) {
    shared = Object.freeze({
      qos: o.qos,
      noLocal: o.noLocal,
      retainAsPublished: o.retainAsPublished,
      retainHandling: o.retainHandling,
    })
    table[i] = shared
  }
  return shared as SubOptions
}
