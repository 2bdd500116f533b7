import { BpfError, Errno } from '@bpfkit/core';

/**
 * The kinds of object a mock file descriptor can refer to.
 *
 * @example
 * const kind: MockObjectKind = 'map';
 */
export type MockObjectKind = 'map' | 'program' | 'link';

/**
 * An object of the mock kernel that file descriptors, pins and other
 * objects (map-in-map slots, program arrays) hold references to. It lives
 * while at least one reference is held, like a kernel object.
 *
 * @example
 * const system = new MockSystem();
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
 * const object: MockObject | undefined = system.kernel.maps.get(m.info().id);
 * object?.retain(); // keep it alive without a descriptor
 */
export interface MockObject {
  readonly kind: MockObjectKind;
  /** The object's id, unique per kind within one {@link MockKernel}. */
  readonly id: number;
  retain(): void;
  release(): void;
}

/**
 * What a mock file descriptor may do: the `FMODE_CAN_READ`/`FMODE_CAN_WRITE` of a kernel map fd.
 *
 * @example
 * const readOnly: MockFileMode = { read: true, write: false }; // BPF_F_RDONLY
 */
export interface MockFileMode {
  read: boolean;
  write: boolean;
}

/**
 * One entry of the mock fd table.
 *
 * @example
 * const system = new MockSystem();
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
 * system.kernel.file(m.fd)?.mode; // { read: true, write: true }
 */
export interface MockFile {
  readonly object: MockObject;
  readonly mode: MockFileMode;
}

/** Descriptors 0, 1 and 2 are open in every process but are no BPF objects. */
const FIRST_FD = 3;

/**
 * The state one mock "kernel" holds: object ids, a file descriptor table, a
 * virtual bpffs for pins and the live maps. Each MockSystem has its own, so
 * tests never see each other.
 *
 * File descriptors are positive, unique and never reused within one mock
 * kernel, so a stale fd is reported (EBADF) instead of silently reaching
 * another object.
 *
 * @example
 * const kernel = new MockKernel(4);
 * kernel.resolveFd(3, 'BPF_MAP_UPDATE_ELEM'); // throws BpfError EBADF: nothing is open yet
 */
export class MockKernel {
  /** CPUs a per-CPU value has a slot for. */
  readonly possibleCpus: number;
  readonly #lastId: Record<MockObjectKind, number> = { map: 0, program: 0, link: 0 };
  #nextFd = FIRST_FD;
  readonly #files = new globalThis.Map<number, MockFile>();
  /** The virtual bpffs: path → pinned object. */
  readonly pins = new globalThis.Map<string, MockObject>();
  /** Maps that are alive (held by an fd, a pin or another map), by id. */
  readonly maps = new globalThis.Map<number, MockObject>();

  constructor(possibleCpus: number) {
    this.possibleCpus = possibleCpus;
  }

  /** A fresh id for an object of `kind` (ids start at 1 and are never reused). */
  nextId(kind: MockObjectKind = 'map'): number {
    return ++this.#lastId[kind];
  }

  /** Opens a new file descriptor on `object` (taking a reference) and returns it. */
  openFd(object: MockObject, mode: MockFileMode = { read: true, write: true }): number {
    object.retain();
    const fd = this.#nextFd++;
    this.#files.set(fd, { object, mode: { ...mode } });
    return fd;
  }

  /** Closes `fd`, dropping its reference. Closing an fd that is not open does nothing. */
  closeFd(fd: number): void {
    const file = this.#files.get(fd);
    if (!file) return;
    this.#files.delete(fd);
    file.object.release();
  }

  /** The open file behind `fd`, if any. */
  file(fd: number): MockFile | undefined {
    return this.#files.get(fd);
  }

  /** Number of open mock file descriptors. */
  get openFds(): number {
    return this.#files.size;
  }

  /**
   * The object behind a descriptor passed as a value (map-in-map, program
   * arrays), as the kernel's `__bpf_map_get`/`bpf_prog_get` see it: EBADF
   * when nothing is open at `fd`, EINVAL when the descriptor is open but
   * refers to something else than `kind` (0, 1 and 2 are open non-BPF files).
   */
  resolveFd(fd: number, command: string, kind: MockObjectKind = 'map', subject?: string): MockObject {
    const file = Number.isInteger(fd) && fd >= 0 ? this.#files.get(fd) : undefined;
    const open = file !== undefined || (Number.isInteger(fd) && fd >= 0 && fd < FIRST_FD);
    if (!open) {
      throw new BpfError(Errno.EBADF, { syscall: 'bpf', command, subject, hint: `fd ${fd} is not open in this mock system` });
    }
    if (!file || file.object.kind !== kind) {
      throw new BpfError(Errno.EINVAL, {
        syscall: 'bpf',
        command,
        subject,
        hint: `fd ${fd} is not a ${kind}`,
      });
    }
    return file.object;
  }

  /** Pins `object` at `path` (BPF_OBJ_PIN): the pin holds a reference. EEXIST when the path is taken. */
  pin(path: string, object: MockObject, subject?: string): void {
    if (this.pins.has(path)) {
      throw new BpfError(Errno.EEXIST, {
        syscall: 'bpf',
        command: 'BPF_OBJ_PIN',
        subject: subject ?? `pin '${path}' (mock)`,
        hint: `a pin already exists at ${path}`,
      });
    }
    object.retain();
    this.pins.set(path, object);
  }

  /** Removes the pin at `path` (unlink), dropping its reference. ENOENT when nothing is pinned there. */
  unpin(path: string, subject?: string): void {
    const object = this.pins.get(path);
    if (!object)
      throw new BpfError(Errno.ENOENT, {
        syscall: 'unlink',
        subject: subject ?? `pin '${path}' (mock)`,
        hint: `nothing is pinned at ${path}`,
      });
    this.pins.delete(path);
    object.release();
  }

  /** Records a map that came to life. */
  track(map: MockObject): void {
    this.maps.set(map.id, map);
  }

  /** Forgets a map whose last reference went away: its id no longer opens it. */
  forget(map: MockObject): void {
    this.maps.delete(map.id);
  }

  /** Number of live maps. */
  get live(): number {
    return this.maps.size;
  }
}
