/**
 * The two hashes an operator meets: the Lua director's 16-bit shard, and the Dovecot 2.x
 * director's 32-bit user hash (for migration).
 */
import {createHash} from 'node:crypto'
import {crc32} from 'node:zlib'

/** director-shard.lua seeds luacrc32 with this value. */
export const SHARD_CRC_SEED = 120_254
export const SHARD_COUNT = 65_536

/** CRC-32 of the name's UTF-8 bytes, continued from SHARD_CRC_SEED, as an unsigned number. */
export function shardCrc(user: string): number {
  return crc32(Buffer.from(user, 'utf8'), SHARD_CRC_SEED) >>> 0
}

/**
 * The shard director-shard.lua stores for a user name (already normalized as Dovecot passes it).
 * The script's bxor(lshift(band(h, 0xffff0000), 16), band(h, 0xffff)) reduces to the low 16 bits
 * because bit32.lshift truncates to 32 bits.
 */
export function shardOf(user: string): number {
  return shardCrc(user) & 0xffff
}

/** First 4 bytes, big-endian, of MD5(text). The 2.x director's hash for users and vhost points. */
export function md5First32(text: string): number {
  return createHash('md5').update(text, 'utf8').digest().readUInt32BE(0)
}

/** The 2.x director's user hash with its default director_username_hash = %Lu. */
export function director2Hash(user: string): number {
  return md5First32(asciiLowercase(user))
}

/** Dovecot's str_lcase(): ASCII letters only, byte by byte, as %Lu does. */
export function asciiLowercase(text: string): string {
  return text.replaceAll(/[A-Z]+/g, (s) => s.toLowerCase())
}
