import { Errno, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, readU32, writeU32, type BatchSupport, type MockValueRef } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';

/** A trie node. Intermediate nodes (no value) only join two subtrees and are never returned. */
interface TrieNode {
  prefixlen: number;
  /** The key data as it was given, bits past the prefix included (the kernel keeps them). */
  data: Uint8Array;
  /** Null for an intermediate node. */
  value: Uint8Array | null;
  child: [TrieNode | null, TrieNode | null];
}

/** Where a node hangs: the root, or a child slot of a parent. */
interface Slot {
  parent: TrieNode | null;
  index: 0 | 1;
}

/** Bit `index` of `data`, most significant bit of byte 0 first (network order). */
function bitAt(data: Uint8Array, index: number): 0 | 1 {
  return ((data[index >> 3]! >> (7 - (index & 7))) & 1) as 0 | 1;
}

/**
 * LPM tries (`BPF_MAP_TYPE_LPM_TRIE`), the kernel's structure and walk:
 * keys are a host-order u32 prefix length and the data in network order.
 * Lookups return the value of the longest stored prefix that matches the
 * key's first `prefixlen` bits; an update or delete with a prefix length above
 * the data's bits is EINVAL (a lookup ENOENT); a full trie answers ENOSPC
 * (not E2BIG); lookup-and-delete is ENOTSUPP. Next-key walks the trie in
 * postorder, so more specific prefixes come before the prefixes that contain
 * them, and an absent key restarts at the first. The data is stored as given:
 * bits past the prefix come back from next-key, and updating the same
 * prefix with other trailing bits replaces them.
 *
 * @example
 * using t = system.createMap({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: MapFlags.NO_PREALLOC }, { key: cidr4, value: u32 });
 * t.update('10.0.0.0/8', 1);
 * t.lookup('10.1.2.3/32'); // 1
 */
export class LpmTrieStore extends MockMapStore {
  readonly batch: BatchSupport = { lookup: true, lookupAndDelete: false, update: true, delete: true };
  #root: TrieNode | null = null;
  #entries = 0;
  readonly #dataSize: number;
  readonly #maxPrefix: number;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
    this.#dataSize = meta.keySize - 4;
    this.#maxPrefix = this.#dataSize * 8;
  }

  /** Number of stored prefixes. */
  get size(): number {
    return this.#entries;
  }

  /** Leading bits `node` and the key share, up to the shorter of both prefixes. */
  #matchLen(node: TrieNode, prefixlen: number, data: Uint8Array): number {
    const limit = Math.min(node.prefixlen, prefixlen);
    let bits = 0;
    for (let i = 0; i < this.#dataSize && bits < limit; i++) {
      const diff = node.data[i]! ^ data[i]!;
      if (diff === 0) {
        bits += 8;
        continue;
      }
      bits += Math.clz32(diff) - 24;
      break;
    }
    return Math.min(bits, limit);
  }

  #get(slot: Slot): TrieNode | null {
    return slot.parent ? slot.parent.child[slot.index] : this.#root;
  }

  #set(slot: Slot, node: TrieNode | null): void {
    if (slot.parent) slot.parent.child[slot.index] = node;
    else this.#root = node;
  }

  lookupElem(key: Uint8Array, value: Uint8Array): boolean {
    const found = this.#longest(key);
    if (!found) return false;
    value.set(found.value!);
    return true;
  }

  override valueRef(key: Uint8Array): MockValueRef | undefined {
    const found = this.#longest(key);
    return found?.value ? { bytes: found.value, offset: 0 } : undefined;
  }

  /** The node of the longest stored prefix matching `key`. */
  #longest(key: Uint8Array): TrieNode | null {
    const prefixlen = readU32(key);
    if (prefixlen > this.#maxPrefix) return null;
    const data = key.subarray(4);
    let found: TrieNode | null = null;
    let node = this.#root;
    while (node) {
      const m = this.#matchLen(node, prefixlen, data);
      if (m === this.#maxPrefix) {
        found = node;
        break;
      }
      if (m < node.prefixlen) break;
      if (node.value) found = node;
      node = node.child[bitAt(data, node.prefixlen)];
    }
    return found;
  }

  /** Counts a new element: ENOENT for `exist`, ENOSPC when full. */
  #add(flags: number): void {
    if (flags === UpdateFlags.EXIST) this.fail(Errno.ENOENT, 'BPF_MAP_UPDATE_ELEM');
    if (this.#entries === this.maxEntries)
      this.fail(Errno.ENOSPC, 'BPF_MAP_UPDATE_ELEM', `the trie is full (max_entries ${this.maxEntries})`);
    this.#entries++;
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (flags > UpdateFlags.EXIST) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', `unknown update flags 0x${flags.toString(16)}`);
    const prefixlen = readU32(key);
    if (prefixlen > this.#maxPrefix)
      this.fail(
        Errno.EINVAL,
        'BPF_MAP_UPDATE_ELEM',
        `prefix length ${prefixlen} is longer than the ${this.#maxPrefix} bits of the key data`,
      );
    const data = key.slice(4, 4 + this.#dataSize);
    const fresh: TrieNode = { prefixlen, data, value: value.slice(0, this.valueBytes), child: [null, null] };
    let slot: Slot = { parent: null, index: 0 };
    let node = this.#get(slot);
    let m = 0;
    while (node) {
      m = this.#matchLen(node, prefixlen, data);
      if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
      slot = { parent: node, index: bitAt(data, node.prefixlen) };
      node = this.#get(slot);
    }
    if (!node) {
      this.#add(flags);
      this.#set(slot, fresh);
      return;
    }
    if (node.prefixlen === m) {
      // Same prefix: replace the node (an intermediate one becomes a real element).
      if (node.value) {
        if (flags === UpdateFlags.NOEXIST) this.fail(Errno.EEXIST, 'BPF_MAP_UPDATE_ELEM');
      } else {
        this.#add(flags);
      }
      fresh.child = node.child;
      this.#set(slot, fresh);
      return;
    }
    this.#add(flags);
    if (m === prefixlen) {
      // The new prefix contains the node: it becomes its parent.
      fresh.child[bitAt(node.data, m)] = node;
      this.#set(slot, fresh);
      return;
    }
    // They diverge at bit m: join them under an intermediate node.
    const joint: TrieNode = { prefixlen: m, data: node.data.slice(), value: null, child: [null, null] };
    if (bitAt(data, m)) joint.child = [node, fresh];
    else joint.child = [fresh, node];
    this.#set(slot, joint);
  }

  deleteElem(key: Uint8Array): boolean {
    const prefixlen = readU32(key);
    if (prefixlen > this.#maxPrefix)
      this.fail(
        Errno.EINVAL,
        'BPF_MAP_DELETE_ELEM',
        `prefix length ${prefixlen} is longer than the ${this.#maxPrefix} bits of the key data`,
      );
    const data = key.subarray(4);
    let trim: Slot = { parent: null, index: 0 };
    let trimParent: Slot = trim;
    let parent: TrieNode | null = null;
    let node = this.#get(trim);
    let m = 0;
    while (node) {
      m = this.#matchLen(node, prefixlen, data);
      if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
      parent = node;
      trimParent = trim;
      trim = { parent: node, index: bitAt(data, node.prefixlen) };
      node = this.#get(trim);
    }
    if (!node || node.prefixlen !== prefixlen || node.prefixlen !== m || !node.value) return false;
    this.#entries--;
    const [c0, c1] = node.child;
    if (c0 && c1) {
      // Two children: the node stays as an intermediate one.
      node.value = null;
      return true;
    }
    if (parent && !parent.value && !c0 && !c1) {
      // A leaf under an intermediate node: the intermediate goes too, its other child moves up.
      this.#set(trimParent, node === parent.child[0] ? parent.child[1] : parent.child[0]);
      return true;
    }
    this.#set(trim, c0 ?? c1 ?? null);
    return true;
  }

  /** The first element of the subtree at `root` in postorder: its leftmost leaf. */
  #leftmost(root: TrieNode | null): TrieNode | null {
    let found: TrieNode | null = null;
    let node = root;
    while (node) {
      if (!node.value) {
        node = node.child[0];
      } else {
        found = node;
        node = node.child[0] ?? found.child[1];
      }
    }
    return found;
  }

  nextKeyElem(key: Uint8Array | null, next: Uint8Array): boolean {
    if (!this.#root) return false;
    let found: TrieNode | null = null;
    const prefixlen = key ? readU32(key) : 0;
    if (key && prefixlen <= this.#maxPrefix) {
      const data = key.subarray(4);
      const stack: TrieNode[] = [];
      let node: TrieNode | null = this.#root;
      let m = 0;
      while (node) {
        stack.push(node);
        m = this.#matchLen(node, prefixlen, data);
        if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
        node = node.child[bitAt(data, node.prefixlen)];
      }
      if (node && node.prefixlen === m && node.value) {
        // The key is there: the next node in postorder is the leftmost leaf of the
        // right sibling subtree, or else the first real ancestor.
        let current = stack[stack.length - 1]!;
        for (let i = stack.length - 1; i > 0; i--) {
          const up = stack[i - 1]!;
          if (up.child[0] === current && up.child[1]) {
            found = this.#leftmost(up.child[1]);
            break;
          }
          if (up.value) {
            found = up;
            break;
          }
          current = up;
        }
        if (!found) return false;
        this.#writeKey(found, next);
        return true;
      }
    }
    // No key, or a key that is not there: the first element.
    found = this.#leftmost(this.#root);
    if (!found) return false;
    this.#writeKey(found, next);
    return true;
  }

  #writeKey(node: TrieNode, into: Uint8Array): void {
    writeU32(into, node.prefixlen);
    into.set(node.data, 4);
  }

  protected override destroy(): void {
    this.#root = null;
    this.#entries = 0;
  }
}
