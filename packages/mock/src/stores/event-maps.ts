import { Errno } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, readU32, type BatchSupport } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';

const NO_BATCH: BatchSupport = { lookup: false, lookupAndDelete: false, update: false, delete: false };

/**
 * Ring buffers (`BPF_MAP_TYPE_RINGBUF`) as user space sees them through
 * bpf(): a map that exists (info, pin, map-in-map, program references) but
 * has no elements — every element command answers ENOTSUPP, as in the
 * kernel; records are read through a ring buffer reader, not the map.
 *
 * @example
 * using rb = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
 * rb.peek(); // throws BpfError ENOTSUPP
 */
export class RingbufStore extends MockMapStore {
  readonly batch = NO_BATCH;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
  }

  lookupElem(): boolean {
    return this.fail(Errno.ENOTSUPP, 'BPF_MAP_LOOKUP_ELEM', 'ringbuf maps do not support BPF_MAP_LOOKUP_ELEM from user space');
  }

  updateElem(): void {
    this.fail(Errno.ENOTSUPP, 'BPF_MAP_UPDATE_ELEM', 'ringbuf maps do not support BPF_MAP_UPDATE_ELEM from user space');
  }

  deleteElem(): boolean {
    return this.fail(Errno.ENOTSUPP, 'BPF_MAP_DELETE_ELEM', 'ringbuf maps do not support BPF_MAP_DELETE_ELEM from user space');
  }

  nextKeyElem(): boolean {
    return this.fail(Errno.ENOTSUPP, 'BPF_MAP_GET_NEXT_KEY', 'ringbuf maps do not support BPF_MAP_GET_NEXT_KEY from user space');
  }
}

/**
 * Perf event arrays (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`): one slot per CPU
 * for a perf event fd. The mock has no perf events, so every update is
 * EBADF (the kernel's answer to an fd that is not a perf event); slots
 * cannot be read (ENOTSUPP); deleting an empty slot is ENOENT and an index
 * past the end E2BIG; next-key walks the indices like an array.
 *
 * @example
 * using events = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
 */
export class PerfEventArrayStore extends MockMapStore {
  readonly batch = NO_BATCH;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
  }

  lookupElem(): boolean {
    return this.fail(Errno.ENOTSUPP, 'BPF_MAP_LOOKUP_ELEM', 'perf_event_array maps cannot be read from');
  }

  updateElem(key: Uint8Array): void {
    if (readU32(key) >= this.maxEntries)
      this.fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', `index ${readU32(key)} is past the last slot (${this.maxEntries - 1})`);
    this.fail(
      Errno.EBADF,
      'BPF_MAP_UPDATE_ELEM',
      'perf_event_array values are file descriptors of perf events, which the mock backend does not have',
    );
  }

  deleteElem(key: Uint8Array): boolean {
    if (readU32(key) >= this.maxEntries)
      this.fail(Errno.E2BIG, 'BPF_MAP_DELETE_ELEM', `index ${readU32(key)} is past the last slot (${this.maxEntries - 1})`);
    return false;
  }

  nextKeyElem(key: Uint8Array | null, next: Uint8Array): boolean {
    const index = key === null ? 0 : readU32(key) >= this.maxEntries ? 0 : readU32(key) + 1;
    if (index >= this.maxEntries) return false;
    new DataView(next.buffer, next.byteOffset, 4).setUint32(0, index, true);
    return true;
  }
}
