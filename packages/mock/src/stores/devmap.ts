// Device maps (`BPF_MAP_TYPE_DEVMAP`, `DEVMAP_HASH`): the targets of
// bpf_redirect_map. Values are `struct bpf_devmap_val` (a u32 ifindex, then
// optionally the fd of a program to run on the target, which the mock does
// not run). As the kernel: an update names an interface that exists
// (EINVAL otherwise), ifindex 0 leaves an array slot empty, an empty slot
// is ENOENT on lookup, deleting never fails for an index inside the array,
// and neither type has batch operations.
import { Errno, NotSupportedError, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { readU32, type BatchSupport, type MockValueRef } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';
import { interfaceExists } from '../hooks/hooks.js';
import { ArrayStore } from './array.js';
import { HashStore } from './hash.js';

const NO_BATCH: BatchSupport = { lookup: false, lookupAndDelete: false, update: false, delete: false };

/** Refuses a devmap value whose ifindex names no interface of the mock system, or that carries a program. */
function checkDevice(
  kernel: MockKernel,
  fail: (errno: number, hint: string) => never,
  value: Uint8Array,
  valueSize: number,
  name: string,
): number {
  const ifindex = readU32(value);
  if (valueSize >= 8 && new DataView(value.buffer, value.byteOffset).getInt32(4, true) > 0) {
    throw new NotSupportedError(
      'programs in devmap entries (bpf_devmap_val.bpf_prog)',
      undefined,
      `map '${name}': the mock redirects to the interface without running a program there`,
      'the mock backend',
    );
  }
  if (ifindex !== 0 && !interfaceExists(kernel, ifindex))
    fail(Errno.EINVAL, `no interface of this mock system has ifindex ${ifindex} (add it with system.addInterface)`);
  return ifindex;
}

/**
 * `BPF_MAP_TYPE_DEVMAP`: an array of interfaces.
 *
 * @example
 * declare const system: MockSystem;
 * using ports = system.createMap({ type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 }, { key: u32, value: u32 });
 * ports.update(0, system.addInterface('eth1').ifindex);
 */
export class DevmapStore extends ArrayStore {
  override readonly batch: BatchSupport = NO_BATCH;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
  }

  #empty(key: Uint8Array): boolean {
    const ref = super.valueRef(key);
    return !ref || readU32(ref.bytes.subarray(ref.offset)) === 0;
  }

  override lookupElem(key: Uint8Array, value: Uint8Array): boolean {
    return !this.#empty(key) && super.lookupElem(key, value);
  }

  override valueRef(key: Uint8Array, cpu = 0): MockValueRef | undefined | null {
    return this.#empty(key) ? undefined : super.valueRef(key, cpu);
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (flags <= UpdateFlags.EXIST && readU32(key) < this.maxEntries && flags !== UpdateFlags.NOEXIST) {
      checkDevice(this.kernel, (errno, hint) => this.fail(errno, 'BPF_MAP_UPDATE_ELEM', hint), value, this.meta.valueSize, this.name);
    }
    super.updateElem(key, value, flags);
  }

  override deleteElem(key: Uint8Array): boolean {
    const i = readU32(key);
    if (i >= this.maxEntries)
      this.fail(Errno.EINVAL, 'BPF_MAP_DELETE_ELEM', `index ${i} is outside the array (max_entries ${this.maxEntries})`);
    super.updateElem(key, new Uint8Array(this.valueBytes), UpdateFlags.ANY);
    return true;
  }
}

/**
 * `BPF_MAP_TYPE_DEVMAP_HASH`: interfaces by a u32 key.
 *
 * @example
 * declare const system: MockSystem;
 * using ports = system.createMap({ type: MapType.DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }, { key: u32, value: u32 });
 * ports.update(100, 1); // lo
 */
export class DevmapHashStore extends HashStore {
  override readonly batch: BatchSupport = NO_BATCH;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (flags <= UpdateFlags.EXIST) {
      const ifindex = checkDevice(
        this.kernel,
        (errno, hint) => this.fail(errno, 'BPF_MAP_UPDATE_ELEM', hint),
        value,
        this.meta.valueSize,
        this.name,
      );
      if (ifindex === 0) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', 'a devmap hash entry needs an interface (ifindex 0)');
    }
    // dev_map_hash_update_elem does not check BPF_EXIST: an absent key is added.
    super.updateElem(
      key,
      value,
      flags === UpdateFlags.EXIST && !this.lookupElem(key, new Uint8Array(this.valueBytes)) ? UpdateFlags.ANY : flags,
    );
  }
}
