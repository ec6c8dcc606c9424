import {describe, expect, it} from 'vitest'
import {ClientAcl, parseAclLines, READ, WRITE} from '../../../src/broker/auth/acl.js'

const FILE = `# Mosquitto ACL
topic read public/#
topic read $SYS/broker/uptime

user alice
topic readwrite alice/#
topic read shared/+/status
topic deny shared/secret/status
topic write   cmd/with space

user bob
topic bob/#
topic read #

user admin
topic readwrite #
topic read $SYS/#

pattern readwrite devices/%u/#
pattern read clients/%c/inbox
pattern write clients/%c/outbox/%u
`

const table = parseAclLines(FILE.split('\n'), 'auth.aclFile', '/etc/acl')
const acl = (user: string | undefined, clientId = 'c1') => new ClientAcl(table, user, clientId)
const bits = (user: string | undefined, topic: string, clientId = 'c1') => acl(user, clientId).access(topic)

describe('ACL file parsing', () => {
  it('reads users, anonymous rules before the first user, and patterns', () => {
    expect(table.anonymous.map((r) => r.filter)).toEqual(['public/#', '$SYS/broker/uptime'])
    expect(table.users.get('alice')!.map((r) => [r.access, r.filter])).toEqual([
      [READ | WRITE, 'alice/#'],
      [READ, 'shared/+/status'],
      [0, 'shared/secret/status'],
      [WRITE, 'cmd/with space'],
    ])
    expect(table.users.get('bob')![0].access).toBe(READ | WRITE) // no access word: readwrite
    expect(table.patterns).toHaveLength(3)
  })

  const bad: Array<[string, RegExp]> = [
    ['topic read a/#/b', /line 1: "a\/#\/b": '#' must be the last character/],
    ['topic', /line 1: "topic" needs a topic filter/],
    ['topic read', /line 1: "topic" needs a topic filter/],
    ['user', /line 1: "user" needs a user name/],
    ['topics read a', /line 1: unknown keyword "topics"/],
    ['pattern read a/%u+/x', /line 1: "a\/%u\+\/x": '\+' must occupy a whole level/],
    ['topic read $share/g/a', /write the filter without \$share/],
  ]
  it.each(bad)('refuses %j with the line number', (line, message) => {
    expect(() => parseAclLines([line], 'auth.aclFile', '/etc/acl')).toThrow(message)
    expect(() => parseAclLines([line], 'auth.aclFile', '/etc/acl')).toThrow(/^auth\.aclFile "\/etc\/acl" line 1: /)
  })
})

describe('ACL decisions', () => {
  // [user, topic, read, write]
  const topics: Array<[string | undefined, string, boolean, boolean]> = [
    [undefined, 'public/news', true, false],
    [undefined, '$SYS/broker/uptime', true, false],
    [undefined, '$SYS/broker/load', false, false],
    [undefined, 'alice/x', false, false],
    ['alice', 'alice/x/y', true, true],
    ['alice', 'alice', true, true],
    ['alice', 'public/news', false, false], // anonymous rules are not everyone's
    ['alice', 'shared/a/status', true, false],
    ['alice', 'shared/secret/status', false, false], // deny wins
    ['alice', 'cmd/with space', false, true],
    ['alice', 'devices/alice/t', true, true], // pattern %u
    ['alice', 'devices/bob/t', false, false],
    ['alice', 'clients/c1/inbox', true, false], // pattern %c
    ['alice', 'clients/c2/inbox', false, false],
    ['alice', 'clients/c1/outbox/alice', false, true],
    ['bob', 'anything/at/all', true, false],
    ['bob', 'bob/1', true, true],
    ['bob', '$SYS/broker/uptime', false, false], // '#' does not reach $SYS
    ['admin', '$SYS/broker/load', true, false],
    ['admin', 'x', true, true],
    ['mallory', 'devices/mallory/t', true, true], // unknown to the ACL: patterns only
    ['mallory', 'public/news', false, false],
    [undefined, 'devices//t', false, false], // %u patterns do not apply to anonymous clients
  ]
  it.each(topics)('%s on %s: read %s write %s', (user, topic, r, w) => {
    const b = bits(user, topic)
    expect(Boolean(b & READ)).toBe(r)
    expect(Boolean(b & WRITE)).toBe(w)
  })

  it('a %c or %u holding / + or # does not apply the pattern', () => {
    expect(bits('alice', 'clients/evil/x/inbox', 'evil/x') & READ).toBe(0)
    expect(bits('alice', 'clients/+/inbox', '+') & READ).toBe(0)
    expect(bits('a/b', 'devices/a/b/t') & WRITE).toBe(0)
  })

  // [user, filter, subscribe allowed]
  const subs: Array<[string | undefined, string, boolean]> = [
    [undefined, 'public/#', true],
    [undefined, 'public/+/x', true],
    [undefined, '#', false],
    [undefined, '$SYS/broker/uptime', true],
    [undefined, '$SYS/#', false],
    ['alice', 'alice/#', true],
    ['alice', 'shared/+/status', false], // overlaps the denied shared/secret/status
    ['alice', 'shared/a/status', true],
    ['alice', 'cmd/with space', false], // write only
    ['alice', '$share/g/alice/x', true],
    ['alice', '$share/g/bob/x', false],
    ['bob', '#', true],
    ['bob', '+/+', true],
    ['bob', '$SYS/#', false],
    ['admin', '$SYS/#', true],
    ['admin', '#', true],
    ['alice', 'devices/alice/#', true],
    ['alice', 'devices/+/x', false],
    ['mallory', 'devices/mallory/+', true],
  ]
  it.each(subs)('%s subscribing to %s: %s', (user, filter, want) => {
    expect(acl(user).canSubscribe(filter)).toBe(want)
  })

  it('no rules at all: nothing is allowed (deny by default)', () => {
    const empty = new ClientAcl(parseAclLines([], 's', 'p'), 'x', 'c')
    expect(empty.access('a')).toBe(0)
    expect(empty.canSubscribe('#')).toBe(false)
  })
})
