/** What differs between MQTT 3.1 (level 3), 3.1.1 (level 4) and 5 (level 5), in one place. */

/** [MQTT-3.1.2-1] protocol name per level: MQIsdp for 3.1, MQTT for 3.1.1 and 5. */
export function protocolNameMatches(name: string | undefined, level: number): boolean {
  if (level === 3) return name === 'MQIsdp'
  return name === 'MQTT' && (level === 4 || level === 5)
}

/** MQTT 3.1 limits client identifiers to 23 characters; 3.1.1 and 5 servers may accept longer ones. */
export const V31_MAX_CLIENT_ID = 23

/** Session expiry meaning "never" (MQTT 5 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff

/** Largest value of a variable byte integer (4 bytes), MQTT 5 §1.5.5: remaining lengths, subscription identifiers. */
export const MAX_VARIABLE_BYTE_INTEGER = 268_435_455

/** Largest remaining length a fixed header can declare. */
export const MAX_PACKET_SIZE = MAX_VARIABLE_BYTE_INTEGER
