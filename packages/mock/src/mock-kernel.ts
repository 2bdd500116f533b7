import { BpfError, Errno } from '@bpfkit/core';
import type { MockMapStore } from './mock-map.js';

/**
 * The state one mock "kernel" holds: object ids and a virtual bpffs for
 * pins. Each MockSystem has its own, so tests never see each other.
 */
export class MockKernel {
  #lastId = 0;
  readonly pins = new globalThis.Map<string, MockMapStore>();
  readonly live = new Set<MockMapStore>();

  nextId(): number {
    return ++this.#lastId;
  }

  pin(path: string, store: MockMapStore): void {
    if (this.pins.has(path)) throw new BpfError(Errno.EEXIST, { syscall: 'bpf', command: 'BPF_OBJ_PIN', subject: `pin '${path}' (mock)`, hint: 'a pin already exists at this path' });
    this.pins.set(path, store.retain());
  }

  unpin(path: string): void {
    const store = this.pins.get(path);
    if (!store) throw new BpfError(Errno.ENOENT, { syscall: 'unlink', subject: `pin '${path}' (mock)` });
    this.pins.delete(path);
    store.release();
  }

  track(store: MockMapStore): void {
    this.live.add(store);
  }

  forget(store: MockMapStore): void {
    this.live.delete(store);
  }
}
