/**
 * Shared-subscription groups (MQTT 5 §4.8.2): one group per (share name, filter), members in
 * subscription order, round-robin delivery that skips members the broker cannot use right now.
 */
import type {SharedMatch, SubOptions} from './types.js'

export interface SharedMember {
  clientId: string
  options: SubOptions
}

/**
 * A live group. The match cache hands this object out as a SharedMatch, so `members` always reflects
 * the current membership and the round-robin cursor is shared by every cached result.
 */
export class SharedGroup implements SharedMatch {
  readonly members: SharedMember[] = []
  /** Index of the member to try first on the next pick. */
  cursor = 0
  readonly name: string

  constructor(
    readonly group: string,
    readonly filter: string,
  ) {
    this.name = `$share/${group}/${filter}`
  }

  /** Adds or replaces (same client: new options, same place in the rotation). */
  upsert(clientId: string, options: SubOptions): boolean {
    const members = this.members
    for (let i = 0; i < members.length; i++) {
      if (members[i].clientId === clientId) {
        members[i] = {clientId, options}
        return false
      }
    }
    members.push({clientId, options})
    return true
  }

  remove(clientId: string): boolean {
    const members = this.members
    for (let i = 0; i < members.length; i++) {
      if (members[i].clientId !== clientId) continue
      members.splice(i, 1)
      if (i < this.cursor) this.cursor--
      if (this.cursor >= members.length) this.cursor = 0
      return true
    }
    return false
  }

  /** Next usable member in round-robin order, or undefined when none is usable. */
  pick(usable?: (clientId: string) => boolean): SharedMember | undefined {
    const members = this.members
    const n = members.length
    if (n === 0) return undefined
    let i = this.cursor < n ? this.cursor : 0
    for (let tried = 0; tried < n; tried++) {
      const m = members[i]
      i = i + 1 === n ? 0 : i + 1
      if (usable === undefined || usable(m.clientId)) {
        this.cursor = i
        return m
      }
    }
    return undefined
  }
}

/** Picks from a SharedMatch that did not come from the index (no cursor): the first usable member. */
export function pickFirst(group: SharedMatch, usable?: (clientId: string) => boolean): SharedMember | undefined {
  for (const m of group.members) if (usable === undefined || usable(m.clientId)) return m
  return undefined
}
