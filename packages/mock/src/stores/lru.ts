/**
 * The node recycling of the kernel's LRU hash maps (kernel/bpf/bpf_lru_list.c),
 * modelled for a process whose system calls run on CPU 0.
 *
 * Every element of an LRU hash map lives in a node; a map has exactly
 * `max_entries` nodes. Nodes in use sit on an *inactive* or an *active* list
 * and carry a reference bit (set when an existing key is updated). Free nodes
 * sit on the global free list or on the CPU's local free list; a node taken
 * for a new element waits on the CPU's *pending* list until the next refill
 * flushes it into the inactive (or, when referenced, the active) list.
 *
 * Taking a node when the local free list is empty refills it with up to
 * `target_free` nodes: pending nodes are flushed, the lists are rotated
 * (referenced nodes get a second chance on the active list), free nodes are
 * moved over from the global list, and when there are too few the inactive
 * list is shrunk from its tail — which evicts those elements from the map.
 * Maps with BPF_F_NO_COMMON_LRU give each CPU its own lists and
 * `max_entries / CPUs` nodes; CPU 0 shrinks by 4 when it runs out.
 */

/** Where a node is. Free nodes are only counted. */
type NodeList = 'inactive' | 'active' | 'pending' | 'free';

/** A node of an element (`owner`) on one of the lists. */
export interface LruNode<T> {
  owner: T | null;
  list: NodeList;
  ref: boolean;
  prev: LruNode<T>;
  next: LruNode<T>;
}

/** A circular list with a sentinel, `list_add` adding at the head. */
class NodeQueue<T> {
  readonly head: LruNode<T>;
  count = 0;

  constructor(readonly kind: NodeList) {
    const sentinel = { owner: null, list: kind, ref: false } as unknown as LruNode<T>;
    sentinel.prev = sentinel;
    sentinel.next = sentinel;
    this.head = sentinel;
  }

  get empty(): boolean {
    return this.head.next === this.head;
  }

  addHead(node: LruNode<T>): void {
    node.list = this.kind;
    node.next = this.head.next;
    node.prev = this.head;
    this.head.next.prev = node;
    this.head.next = node;
    this.count++;
  }

  remove(node: LruNode<T>): void {
    node.prev.next = node.next;
    node.next.prev = node.prev;
    this.count--;
  }
}

/** Nodes the common LRU moves to a CPU at most per refill (`LOCAL_FREE_TARGET`), and nodes it scans per rotation. */
const LOCAL_FREE_TARGET = 128;
/** Nodes a per-CPU LRU list shrinks by and scans (`PERCPU_FREE_TARGET`). */
const PERCPU_FREE_TARGET = 4;

/**
 * The LRU lists of one map. `evict` removes an element from the map when
 * its node is reclaimed.
 *
 * @example
 * const table = new Map<string, Uint8Array>();
 * const lru = new LruLists<string>(8, 2, false, (key) => table.delete(key));
 * const node = lru.pop();
 */
export class LruLists<T> {
  readonly #percpu: boolean;
  readonly #evict: (owner: T) => void;
  readonly #inactive = new NodeQueue<T>('inactive');
  readonly #active = new NodeQueue<T>('active');
  readonly #pending = new NodeQueue<T>('pending');
  /** Where the next inactive rotation starts: a node, or the inactive sentinel. */
  #rotation: LruNode<T>;
  /** Common LRU: nodes on the global free list. Per-CPU LRU: nodes on CPU 0's free list. */
  #free: number;
  /** Common LRU: nodes on CPU 0's local free list. */
  #localFree = 0;
  readonly #targetFree: number;
  readonly #scans: number;

  /**
   * @param nodes the map's max entries
   * @param cpus possible CPUs
   * @param percpu BPF_F_NO_COMMON_LRU: one list per CPU
   */
  constructor(nodes: number, cpus: number, percpu: boolean, evict: (owner: T) => void) {
    this.#percpu = percpu;
    this.#evict = evict;
    this.#rotation = this.#inactive.head;
    this.#free = percpu ? Math.floor(nodes / cpus) : nodes;
    this.#targetFree = Math.min(Math.max(Math.floor(Math.floor(nodes / cpus) / 2), 1), LOCAL_FREE_TARGET);
    this.#scans = percpu ? PERCPU_FREE_TARGET : LOCAL_FREE_TARGET;
  }

  /** Marks a node referenced (an update of an existing key). */
  setRef(node: LruNode<T>): void {
    node.ref = true;
  }

  /** Takes a node for a new element version, evicting elements when needed; null when none can be had. */
  pop(): LruNode<T> | null {
    return this.#percpu ? this.#popPercpu() : this.#popCommon();
  }

  /** Gives a node back (element deleted or replaced, or an update that failed). */
  push(node: LruNode<T>): void {
    node.owner = null;
    if (node.list === 'pending') {
      this.#pending.remove(node);
      node.list = 'free';
      node.ref = false;
      this.#localFree++;
      return;
    }
    this.#unlinkInUse(node);
    node.ref = false;
    this.#free++;
  }

  #newNode(): LruNode<T> {
    return { owner: null, list: 'free', ref: false } as unknown as LruNode<T>;
  }

  #queue(list: NodeList): NodeQueue<T> {
    return list === 'active' ? this.#active : list === 'inactive' ? this.#inactive : this.#pending;
  }

  /** Takes a node off the inactive/active list, keeping the rotation cursor on a listed node. */
  #unlinkInUse(node: LruNode<T>): void {
    if (node === this.#rotation) this.#rotation = node.prev;
    this.#queue(node.list).remove(node);
    node.list = 'free';
  }

  /** Moves a listed node to the head of the active or inactive list, clearing its reference bit. */
  #move(node: LruNode<T>, to: 'active' | 'inactive'): void {
    this.#unlinkInUse(node);
    node.ref = false;
    this.#queue(to).addHead(node);
  }

  /** Reclaims a listed node: its element leaves the map. */
  #reclaim(node: LruNode<T>): void {
    const owner = node.owner;
    this.#unlinkInUse(node);
    node.owner = null;
    node.ref = false;
    if (owner !== null) this.#evict(owner);
  }

  #popCommon(): LruNode<T> | null {
    if (this.#localFree === 0) this.#refill();
    let node: LruNode<T> | null = null;
    if (this.#localFree > 0) {
      this.#localFree--;
      node = this.#newNode();
    } else {
      // Steal a pending node: an unreferenced one first, then any.
      for (const force of [false, true]) {
        for (let n = this.#pending.head.prev; n !== this.#pending.head && !node; n = n.prev) {
          if (!n.ref || force) node = n;
        }
        if (node) break;
      }
      if (!node) return null;
      const owner = node.owner;
      this.#pending.remove(node);
      node.owner = null;
      if (owner !== null) this.#evict(owner);
    }
    node.ref = false;
    this.#pending.addHead(node);
    return node;
  }

  #refill(): void {
    // Flush the pending nodes into the lists, oldest first.
    while (!this.#pending.empty) {
      const node = this.#pending.head.prev;
      this.#pending.remove(node);
      (node.ref ? this.#active : this.#inactive).addHead(node);
      node.ref = false;
    }
    this.#rotate();
    let nfree = Math.min(this.#free, this.#targetFree);
    this.#free -= nfree;
    if (nfree < this.#targetFree) nfree += this.#shrink(this.#targetFree - nfree);
    this.#localFree += nfree;
  }

  #popPercpu(): LruNode<T> | null {
    this.#rotate();
    if (this.#free === 0) this.#free += this.#shrink(PERCPU_FREE_TARGET);
    if (this.#free === 0) return null;
    this.#free--;
    const node = this.#newNode();
    this.#inactive.addHead(node);
    return node;
  }

  #rotate(): void {
    if (this.#inactive.count < this.#active.count) this.#rotateActive();
    this.#rotateInactive();
  }

  /** From the tail of the active list: referenced nodes go back to its head, the others to the inactive list. */
  #rotateActive(): void {
    const active = this.#active;
    const first = active.head.next;
    let i = 0;
    for (let node = active.head.prev; node !== active.head; ) {
      const prev = node.prev;
      this.#move(node, node.ref ? 'active' : 'inactive');
      if (++i === this.#scans || node === first) break;
      node = prev;
    }
  }

  /** From the rotation cursor backwards, once around at most: referenced inactive nodes move to the active list. */
  #rotateInactive(): void {
    const inactive = this.#inactive;
    if (inactive.empty) return;
    let last = this.#rotation.next;
    if (last === inactive.head) last = last.next;
    let cur = this.#rotation;
    let next: LruNode<T> = inactive.head;
    let i = 0;
    while (i < this.#scans) {
      if (cur === inactive.head) {
        cur = cur.prev;
        continue;
      }
      next = cur.prev;
      if (cur.ref) this.#move(cur, 'active');
      if (cur === last) break;
      cur = next;
      i++;
    }
    this.#rotation = next;
  }

  /** Reclaims up to `target` nodes from the tail of the inactive list (referenced ones get another chance); else forces one. */
  #shrink(target: number): number {
    const inactive = this.#inactive;
    let shrunk = 0;
    let i = 0;
    for (let node = inactive.head.prev; node !== inactive.head; ) {
      const prev = node.prev;
      if (node.ref) {
        this.#move(node, 'active');
      } else {
        this.#reclaim(node);
        if (++shrunk === target) break;
      }
      if (++i === this.#scans) break;
      node = prev;
    }
    if (shrunk > 0) return shrunk;
    const list = inactive.empty ? this.#active : inactive;
    if (list.empty) return 0;
    this.#reclaim(list.head.prev);
    return 1;
  }
}
