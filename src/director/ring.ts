/**
 * The Dovecot 2.x director's consistent-hash ring (dovecot/core 2.3, verified on a real
 * director): each up host of a tag contributes `vhosts` points MD5("<ip>-<i>"), sorted by value
 * (ties by address); a user goes to the first point >= its hash, wrapping around.
 */
import {isIPv4} from 'node:net'

import {director2Hash, md5First32} from './hash.js'

export interface RingHost {
  ip: string
  vhosts: number
}

function ipKey(ip: string): string {
  // Binary order of IPv4 addresses; IPv6 compare as text (ties between points are vanishingly rare).
  return isIPv4(ip) ? ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('') : ip
}

export class DirectorRing {
  private readonly values: Uint32Array
  private readonly hosts: string[]

  constructor(hosts: RingHost[]) {
    const points: {value: number; ip: string; key: string}[] = []
    for (const host of hosts) {
      const key = ipKey(host.ip)
      for (let i = 0; i < host.vhosts; i++) points.push({ip: host.ip, key, value: md5First32(`${host.ip}-${i}`)})
    }

    points.sort((a, b) => a.value - b.value || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    this.values = Uint32Array.from(points.map((p) => p.value))
    this.hosts = points.map((p) => p.ip)
  }

  get empty(): boolean {
    return this.values.length === 0
  }

  /** The host for a 32-bit user hash. */
  hostForHash(hash: number): string {
    let lo = 0
    let hi = this.values.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.values[mid] < hash) lo = mid + 1
      else hi = mid
    }

    return this.hosts[lo === this.values.length ? 0 : lo]
  }

  hostFor(user: string): string {
    return this.hostForHash(director2Hash(user))
  }
}
