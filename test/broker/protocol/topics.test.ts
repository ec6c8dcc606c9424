import {describe, expect, it} from 'vitest'

import {
  isValidUtf8,
  parseShared,
  topicMatchesFilter,
  validateTopicFilter,
  validateTopicName,
} from '../../../src/broker/protocol/topics.js'

const long = (bytes: number) => 'a'.repeat(bytes)

describe('validateTopicName', () => {
  it.each<[string, string, boolean]>([
    ['simple', 'sport/tennis/player1', true],
    ['single level', 'sport', true],
    ['leading slash [4.7.1.1]', '/finance', true],
    ['trailing slash', 'sport/', true],
    ['only a slash', '/', true],
    ['empty levels', 'a//b', true],
    ['space is a valid character', 'sport tennis', true],
    ['$SYS topic', '$SYS/broker/uptime', true],
    ['non-ASCII', 'maison/séjour/température', true],
    ['empty [MQTT-4.7.3-1]', '', false],
    ['+ in name [MQTT-4.7.1-1]', 'sport/+/x', false],
    ['# in name [MQTT-4.7.1-1]', 'sport/#', false],
    ['+ inside a level', 'sport+', false],
    ['null character [MQTT-4.7.3-2]', 'a\u0000b', false],
    ['65535 bytes [MQTT-4.7.3-3]', long(65_535), true],
    ['65536 bytes [MQTT-4.7.3-3]', long(65_536), false],
    ['65535 bytes multi-byte', 'é'.repeat(32_767) + 'a', true],
    ['65536 bytes multi-byte', 'é'.repeat(32_768), false],
  ])('%s', (_name, topic, ok) => {
    const reason = validateTopicName(topic)
    if (ok) expect(reason).toBeUndefined()
    else expect(reason).toEqual(expect.any(String))
  })
})

describe('validateTopicFilter', () => {
  it.each<[string, boolean]>([
    ['sport/tennis/player1/#', true],
    ['sport/#', true],
    ['#', true],
    ['+', true],
    ['+/tennis/#', true],
    ['sport/+/player1', true],
    ['+/+', true],
    ['/+', true],
    ['a//b', true],
    ['$SYS/#', true],
    ['sport/', true],
    ['/', true],
    ['', false], // [MQTT-4.7.3-1]
    ['sport/tennis#', false], // [MQTT-4.7.1-2]
    ['sport/tennis/#/ranking', false], // [MQTT-4.7.1-2]
    ['#/', false],
    ['##', false],
    ['sport+', false], // [MQTT-4.7.1-3]
    ['sport/+tennis', false],
    ['+sport', false],
    ['++', false],
    ['a\u0000b', false], // [MQTT-4.7.3-2]
    [long(65_535), true], // [MQTT-4.7.3-3]
    [long(65_536), false],
    // Shared subscriptions (MQTT 5 §4.8.2)
    ['$share/group/sport/#', true],
    ['$share/g/+', true],
    ['$share/g/#', true],
    ['$share/g/a//b', true],
    ['$share/group', false], // [MQTT-4.8.2-2] must be followed by '/' and a filter
    ['$share/group/', false],
    ['$share//sport', false], // [MQTT-4.8.2-1] empty share name
    ['$share/gr+oup/sport', false], // [MQTT-4.8.2-2]
    ['$share/gr#oup/sport', false],
    ['$share/g/sport+', false],
    ['$share/g/#/x', false],
    ['$shared/g/x', true], // not the $share prefix: a plain filter
  ])('%j', (filter, ok) => {
    const reason = validateTopicFilter(filter)
    if (ok) expect(reason).toBeUndefined()
    else expect(reason).toEqual(expect.any(String))
  })
})

describe('parseShared', () => {
  it.each<[string, {group: string; filter: string} | undefined]>([
    ['$share/group/sport/#', {group: 'group', filter: 'sport/#'}],
    ['$share/g/+', {group: 'g', filter: '+'}],
    ['$share/g//x', {group: 'g', filter: '/x'}],
    ['sport/#', undefined],
    ['$share/group', undefined],
    ['$share/group/', undefined],
    ['$share//x', undefined],
    ['$SYS/x', undefined],
  ])('%j', (filter, expected) => {
    expect(parseShared(filter)).toEqual(expected)
  })
})

describe('topicMatchesFilter', () => {
  it.each<[string, string, boolean]>([
    // MQTT 5 §4.7.1.2 multi-level wildcard
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/tennis/player1/#', 'sport/tennis/player2', false],
    ['sport/#', 'sport', true],
    ['sport/#', 'sport/', true],
    ['#', 'sport/tennis', true],
    ['#', '/', true],
    // §4.7.1.3 single-level wildcard
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+', 'sport', true],
    ['+', '/finance', false],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+/tennis/#', 'sport/tennis', true],
    ['+/tennis/#', 'sport/golf', false],
    ['+/+/+', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a//b', 'a//b', true],
    ['a//b', 'a/b', false],
    ['a/b', 'a/b/', false],
    ['a/', 'a/', true],
    ['a/', 'a', false],
    ['sport', 'sports', false],
    ['sports', 'sport', false],
    // §4.7.2 topics beginning with $ [MQTT-4.7.2-1]
    ['#', '$SYS/broker', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['$SYS/#', '$SYS', true],
    ['a/#', 'a/$b', true],
  ])('%j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatchesFilter(filter, topic)).toBe(expected)
  })
})

describe('isValidUtf8', () => {
  const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex')
  it.each<[string, Buffer, boolean]>([
    ['empty', hex(''), true],
    ['ASCII', Buffer.from('sport/tennis'), true],
    ['long ASCII (native path)', Buffer.from('a'.repeat(200)), true],
    ['2-byte é', hex('c3 a9'), true],
    ['3-byte €', hex('e2 82 ac'), true],
    ['4-byte 😀', hex('f0 9f 98 80'), true],
    ['max code point U+10FFFF', hex('f4 8f bf bf'), true],
    ['BOM U+FEFF is kept [MQTT-1.5.4-3]', hex('ef bb bf'), true],
    ['last before surrogates U+D7FF', hex('ed 9f bf'), true],
    ['first after surrogates U+E000', hex('ee 80 80'), true],
    ['null U+0000 [MQTT-1.5.4-2]', hex('61 00 62'), false],
    ['null in a long string', Buffer.from('é'.repeat(40) + '\u0000'), false],
    ['overlong null C0 80', hex('c0 80'), false],
    ['overlong / C0 AF', hex('c0 af'), false],
    ['overlong 3-byte E0 80 AF', hex('e0 80 af'), false],
    ['overlong 4-byte F0 80 80 AF', hex('f0 80 80 af'), false],
    ['surrogate U+D800 ED A0 80 [MQTT-1.5.4-1]', hex('ed a0 80'), false],
    ['surrogate U+DFFF ED BF BF', hex('ed bf bf'), false],
    ['above U+10FFFF F4 90 80 80', hex('f4 90 80 80'), false],
    ['F5 lead byte', hex('f5 80 80 80'), false],
    ['FF byte', hex('ff'), false],
    ['lone continuation 80', hex('80'), false],
    ['truncated 2-byte C3', hex('c3'), false],
    ['truncated 3-byte E2 82', hex('e2 82'), false],
    ['truncated 4-byte F0 9F 98', hex('f0 9f 98'), false],
    ['truncated then ASCII', hex('e2 82 41'), false],
    ['bad sequence after 64 ASCII bytes', Buffer.concat([Buffer.from('a'.repeat(64)), hex('c0 80')]), false],
  ])('%s', (_name, buf, ok) => {
    expect(isValidUtf8(buf)).toBe(ok)
  })

  it.each<[string, number, number, boolean]>([
    ['ASCII slice', 0, 3, true],
    ['slice ending inside é', 3, 4, false],
    ['slice holding é', 3, 5, true],
    ['slice up to the null', 3, 6, false],
  ])('checks a slice: %s', (_name, start, end, ok) => {
    const buf = Buffer.from('abcé\u0000')
    expect(isValidUtf8(buf, start, end)).toBe(ok)
  })
})
