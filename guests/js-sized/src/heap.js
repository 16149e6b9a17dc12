// An indexed binary min-heap: each item records its own position
// (`item[slot]`), so any item can be removed or re-prioritised in O(log n).
// The store keeps two: deadlines (for sweep) and eviction priorities.

export class IndexedHeap {
  /**
   * @param {(a: object, b: object) => boolean} before  strict order of two items
   * @param {string} slot  the property each item keeps its position in
   */
  constructor(before, slot) {
    this.before = before;
    this.slot = slot;
    this.items = [];
  }

  get size() {
    return this.items.length;
  }

  /** The first item, or undefined. */
  peek() {
    return this.items[0];
  }

  push(item) {
    item[this.slot] = this.items.length;
    this.items.push(item);
    this.up(item[this.slot]);
  }

  /** Removes `item` if it is in the heap. */
  remove(item) {
    const index = item[this.slot];
    if (index === undefined || index < 0) return;
    item[this.slot] = -1;
    const last = this.items.pop();
    if (index < this.items.length) {
      this.items[index] = last;
      last[this.slot] = index;
      this.down(index);
      this.up(last[this.slot]);
    }
  }

  /** Restores the order after `item`'s priority changed. */
  update(item) {
    this.down(item[this.slot]);
    this.up(item[this.slot]);
  }

  clear() {
    for (const item of this.items) item[this.slot] = -1;
    this.items = [];
  }

  swap(i, j) {
    const items = this.items;
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
    items[i][this.slot] = i;
    items[j][this.slot] = j;
  }

  up(i) {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.items[i], this.items[parent])) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  down(i) {
    const n = this.items.length;
    for (;;) {
      let first = i;
      const left = 2 * i + 1;
      const right = left + 1;
      if (left < n && this.before(this.items[left], this.items[first])) first = left;
      if (right < n && this.before(this.items[right], this.items[first])) first = right;
      if (first === i) return;
      this.swap(i, first);
      i = first;
    }
  }
}
