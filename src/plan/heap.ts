/** A max-heap of backends by a score that changes one unit at a time (ties: lower id first). */
export class ScoreHeap {
  private readonly items: {id: number; score: number}[] = []

  constructor(entries: Iterable<[number, number]> = []) {
    for (const [id, score] of entries) this.push(id, score)
  }

  get size(): number {
    return this.items.length
  }

  peek(): {id: number; score: number} | undefined {
    return this.items[0]
  }

  push(id: number, score: number): void {
    this.items.push({id, score})
    this.up(this.items.length - 1)
  }

  pop(): {id: number; score: number} | undefined {
    const top = this.items[0]
    const last = this.items.pop()
    if (this.items.length > 0 && last) {
      this.items[0] = last
      this.down(0)
    }

    return top
  }

  private before(a: {id: number; score: number}, b: {id: number; score: number}): boolean {
    return a.score > b.score || (a.score === b.score && a.id < b.id)
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(this.items[i], this.items[parent])) return
      ;[this.items[i], this.items[parent]] = [this.items[parent], this.items[i]]
      i = parent
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < this.items.length && this.before(this.items[l], this.items[best])) best = l
      if (r < this.items.length && this.before(this.items[r], this.items[best])) best = r
      if (best === i) return
      ;[this.items[i], this.items[best]] = [this.items[best], this.items[i]]
      i = best
    }
  }
}
