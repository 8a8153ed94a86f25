/** Binary min-heap ordered by a numeric key; ties keep insertion order. */
export class MinHeap<T> {
  private readonly nodes: { key: number; seq: number; item: T }[] = []
  private seq = 0

  get size(): number {
    return this.nodes.length
  }

  push(key: number, item: T): void {
    this.nodes.push({ key, seq: this.seq++, item })
    this.up(this.nodes.length - 1)
  }

  peekKey(): number | undefined {
    return this.nodes[0]?.key
  }

  pop(): T | undefined {
    const top = this.nodes[0]
    const last = this.nodes.pop()
    if (top === undefined || last === undefined) return undefined
    if (this.nodes.length > 0) {
      this.nodes[0] = last
      this.down(0)
    }
    return top.item
  }

  clear(): number {
    const n = this.nodes.length
    this.nodes.length = 0
    return n
  }

  private less(a: number, b: number): boolean {
    const x = this.nodes[a]!
    const y = this.nodes[b]!
    return x.key < y.key || (x.key === y.key && x.seq < y.seq)
  }

  private swap(a: number, b: number): void {
    const t = this.nodes[a]!
    this.nodes[a] = this.nodes[b]!
    this.nodes[b] = t
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const n = this.nodes.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.less(l, m)) m = l
      if (r < n && this.less(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }
}
