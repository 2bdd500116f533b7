import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilities } from './capabilities.js';
import { native, nativeLoadError } from './native.js';
import { runAddonChild } from './test-support/addon-child.js';
import { whenKernel } from './test-support/kernel-gates.js';

// bpf commands and map types (uapi linux/bpf.h)
const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_MAP_LOOKUP_BATCH = 24;
const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_ARRAY = 2;
const BPF_MAP_TYPE_QUEUE = 22;
const BPF_F_MMAPABLE = 1 << 10;

const loaded = nativeLoadError === null;
const c = loaded ? native.constants : ({} as Readonly<Record<string, number>>);
const k = (name: string): number => {
  const value = c[name];
  if (value === undefined) throw new Error(`no constant ${name}`);
  return value;
};

/** BPF_MAP_CREATE through the generic entry point: map_type @0, key_size @4, value_size @8, max_entries @12, map_flags @16. */
function createMap(type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): number {
  const attr = new Uint8Array(72);
  const v = new DataView(attr.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, keySize, true);
  v.setUint32(8, valueSize, true);
  v.setUint32(12, maxEntries, true);
  v.setUint32(16, flags, true);
  return native.bpf(BPF_MAP_CREATE, attr);
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);
const readU32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
const readU64 = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);

/** Is `fd` close-on-exec? (/proc/self/fdinfo "flags" is octal; O_CLOEXEC is 02000000.) */
function isCloexec(fd: number): boolean {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const flags = /^flags:\s+([0-7]+)/m.exec(info);
  return flags !== null && (parseInt(flags[1] ?? '0', 8) & 0o2000000) !== 0;
}

/**
 * Pollers whose callback a test is awaiting. A Poller does not keep itself alive (see PollerConstructor),
 * and a `const` of an async test suspended in `await` is no reference: the suspended function is reachable
 * only through the promise that the Poller's own callback resolves. A garbage collection during the wait
 * collects the whole cycle, the callback never comes, and the test times out. So tests hold them here.
 */
const polling = new Set<object>();

/** An RTM_GETLINK dump request: nlmsghdr (16 bytes) + ifinfomsg (16 bytes). */
function getlinkRequest(seq: number): Uint8Array {
  const RTM_GETLINK = 18;
  const NLM_F_REQUEST = 0x1;
  const NLM_F_DUMP = 0x300;
  const msg = new Uint8Array(32);
  const v = new DataView(msg.buffer);
  v.setUint32(0, msg.length, true);
  v.setUint16(4, RTM_GETLINK, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 0, true);
  return msg; // ifinfomsg all zero: AF_UNSPEC, every link
}

/** A child Node.js with the raw addon as `addon` (see runAddonChild). */
const runChild = (body: string, nodeArgs: string[] = [], env: Record<string, string> = {}) => runAddonChild(body, nodeArgs, env, 20_000);

describe('native addon', () => {
  it('loads', () => {
    expect(nativeLoadError).toBeNull();
    expect(typeof native.mapLookup).toBe('function');
  });

  it.skipIf(!loaded)('exposes frozen per-architecture constants', () => {
    expect(Object.isFrozen(native.constants)).toBe(true);
    expect(k('PAGE_SIZE')).toBeGreaterThanOrEqual(4096);
    expect(k('NR_bpf')).toBeGreaterThan(0);
    expect(k('NR_perf_event_open')).toBeGreaterThan(0);
    expect(k('POLLIN')).toBe(1);
    expect(k('EPERM')).toBe(1);
    if (process.arch === 'x64') {
      expect(k('NR_bpf')).toBe(321);
      expect(k('NR_perf_event_open')).toBe(298);
    }
  });

  it.skipIf(!loaded)('throws TypeError only for wrong argument types or counts', () => {
    const key = new Uint8Array(4);
    const value = new Uint8Array(8);
    const call = (f: () => unknown) => f as () => void;
    expect(call(() => (native.mapLookup as (...a: unknown[]) => number)('3', key, value, 0))).toThrow(TypeError);
    expect(call(() => (native.mapLookup as (...a: unknown[]) => number)(3, 'key', value, 0))).toThrow(TypeError);
    expect(call(() => (native.mapLookup as (...a: unknown[]) => number)(3, key, value))).toThrow(TypeError);
    expect(call(() => (native.mapUpdate as (...a: unknown[]) => number)(3, key, null, 0))).toThrow(TypeError);
    expect(call(() => (native.mapDelete as (...a: unknown[]) => number)(3, null, 0))).toThrow(TypeError);
    expect(call(() => (native.mapNextKey as (...a: unknown[]) => number)(3, null, {}))).toThrow(TypeError);
    expect(call(() => (native.bpf as (...a: unknown[]) => number)(0))).toThrow(TypeError);
    expect(call(() => native.bpf(0, new Uint8Array(16), [0], []))).toThrow(TypeError);
    expect(call(() => native.bpf(0, new Uint8Array(16), [12], [null]))).toThrow(RangeError);
    expect(call(() => (native.close as (...a: unknown[]) => number)())).toThrow(TypeError);
    expect(call(() => (native.munmap as (...a: unknown[]) => number)(new Uint8Array(4)))).toThrow(TypeError);
    expect(call(() => (native.setrlimit as (...a: unknown[]) => number)(8, -1n, 0n))).toThrow(TypeError);
    expect(call(() => new native.Poller(0, 1, 'not a function' as unknown as () => void))).toThrow(TypeError);
    expect(call(() => native.mapBatch(BPF_MAP_LOOKUP_BATCH, 3, null, null, null, null, new Uint32Array(0), 0, 0))).toThrow(TypeError);
  });

  it.skipIf(!loaded)('returns -errno for failed calls on any fd', () => {
    const key = new Uint8Array(4);
    const value = new Uint8Array(8);
    expect(native.close(-1)).toBe(-k('EBADF'));
    expect(native.mapLookup(-1, key, value, 0)).toBe(-k('EBADF'));
    expect(native.ioctl(-1, 0, 0)).toBe(-k('EBADF'));
    expect(native.recv(-1, value, 0)).toBe(-k('EBADF'));
    expect(native.mmap(-1, 4096, k('PROT_READ'), k('MAP_SHARED'), 0)).toBe(-k('EBADF'));
  });

  it.skipIf(!loaded)('getrlimit/setrlimit round-trip RLIMIT_MEMLOCK and restore it', () => {
    const RLIMIT_MEMLOCK = 8;
    const old = native.getrlimit(RLIMIT_MEMLOCK);
    if (typeof old === 'number') throw new Error(`getrlimit failed: ${old}`);
    expect(typeof old.soft).toBe('bigint');
    try {
      const soft = old.hard < 1n << 20n ? old.hard : 1n << 20n; // 1 MiB, within the hard limit
      expect(native.setrlimit(RLIMIT_MEMLOCK, soft, old.hard)).toBe(0);
      expect(native.getrlimit(RLIMIT_MEMLOCK)).toEqual({ soft, hard: old.hard });
      const infinity = (1n << 64n) - 1n; // RLIM_INFINITY
      if (old.hard === infinity) {
        expect(native.setrlimit(RLIMIT_MEMLOCK, infinity, infinity)).toBe(0);
        expect(native.getrlimit(RLIMIT_MEMLOCK)).toEqual({ soft: infinity, hard: infinity });
      } else {
        // raising the hard limit needs CAP_SYS_RESOURCE: either it works or it is refused with EPERM
        expect([0, -k('EPERM')]).toContain(native.setrlimit(RLIMIT_MEMLOCK, old.hard, infinity));
      }
    } finally {
      expect(native.setrlimit(RLIMIT_MEMLOCK, old.soft, old.hard)).toBe(0);
    }
    expect(native.getrlimit(RLIMIT_MEMLOCK)).toEqual(old);
    expect(native.getrlimit(9999)).toBe(-k('EINVAL'));
  });

  it.skipIf(!loaded)('populateFutureMappings locks (so populates) later mappings only where locking has no limit', () => {
    // In a child: the lock is the whole process's. The child first lowers its own RLIMIT_MEMLOCK below
    // infinity, so only CAP_IPC_LOCK can allow the lock: 1 with it (root), 0 without (nothing locked).
    const allowed = capabilities().CAP_IPC_LOCK;
    const r = runChild(`
      const locked = () => Number(/^VmLck:\\s+(\\d+) kB$/m.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
      const limit = addon.getrlimit(8);
      const soft = limit.hard < 1n << 20n ? limit.hard : 1n << 20n;
      if (addon.setrlimit(8, soft, limit.hard) !== 0) throw new Error('setrlimit');
      const before = locked();
      const on = addon.populateFutureMappings(true);
      const fresh = Buffer.alloc(8 << 20); // a mapping of its own (glibc mmaps allocations this large)
      const during = locked();
      const off = addon.populateFutureMappings(false);
      let refused = '';
      try { addon.populateFutureMappings(1); } catch (e) { refused = e.constructor.name + ': ' + e.message; }
      console.log(JSON.stringify({ before, on, during: during >= fresh.length / 1024, off, after: locked(), refused }));
    `);
    expect(r.status, r.output).toBe(0);
    expect(JSON.parse(r.output)).toEqual({
      before: 0,
      on: allowed ? 1 : 0,
      during: allowed,
      off: 0,
      after: 0,
      refused: 'TypeError: populateFutureMappings: on must be a boolean',
    });
  });

  it.skipIf(!loaded)('mount returns an errno for a nonsense fstype; umount of a non-mount point too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-mount-'));
    try {
      const r = native.mount('none', dir, 'bpfkit-no-such-fs', 0, null);
      expect(r).toBeLessThan(0);
      expect([-k('ENODEV'), -k('EPERM')]).toContain(r);
      expect(native.umount(dir, 0)).toBeLessThan(0);
    } finally {
      fs.rmdirSync(dir);
    }
  });
});

whenKernel().describe('native addon against the kernel', () => {
  it('creates a map with bpf() and reads its info through a patched pointer', () => {
    const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(isCloexec(fd)).toBe(true);
    try {
      // BPF_OBJ_GET_INFO_BY_FD: bpf_fd u32 @0, info_len u32 @4, info u64 @8
      const info = new Uint8Array(80); // struct bpf_map_info: type @0, id @4, key_size @8, value_size @12, max_entries @16
      const attr = new Uint8Array(16);
      const v = new DataView(attr.buffer);
      v.setUint32(0, fd, true);
      v.setUint32(4, info.length, true);
      expect(native.bpf(BPF_OBJ_GET_INFO_BY_FD, attr, [8], [info])).toBe(0);
      expect(v.getBigUint64(8, true)).not.toBe(0n); // the address was written into attr
      const iv = new DataView(info.buffer);
      expect(iv.getUint32(0, true)).toBe(BPF_MAP_TYPE_ARRAY);
      expect(iv.getUint32(4, true)).toBeGreaterThan(0); // map id
      expect(iv.getUint32(8, true)).toBe(4);
      expect(iv.getUint32(12, true)).toBe(8);
      expect(iv.getUint32(16, true)).toBe(4);
      expect(v.getUint32(4, true)).toBeGreaterThan(0); // info_len written back
      // A null pointer buffer passes 0: the kernel then faults on the copy.
      v.setUint32(4, info.length, true);
      expect(native.bpf(BPF_OBJ_GET_INFO_BY_FD, attr, [8], [null])).toBe(-k('EFAULT'));
    } finally {
      expect(native.close(fd)).toBe(0);
    }
  });

  it('returns -EINVAL for a bad command and -EBADF for a bad fd', () => {
    expect(native.bpf(9999, new Uint8Array(16))).toBe(-k('EINVAL'));
    const attr = new Uint8Array(16);
    new DataView(attr.buffer).setInt32(0, 1_000_000, true);
    // (BPF_OBJ_GET_INFO_BY_FD answers EBADFD rather than EBADF on recent kernels)
    expect([-k('EBADF'), -k('EBADFD')]).toContain(native.bpf(BPF_OBJ_GET_INFO_BY_FD, attr, [8], [new Uint8Array(80)]));
    expect(native.mapLookup(1_000_000, u32(0), new Uint8Array(8), 0)).toBe(-k('EBADF'));
    expect(native.mapUpdate(1_000_000, u32(0), new Uint8Array(8), 0)).toBe(-k('EBADF'));
    expect(native.mapDelete(1_000_000, u32(0), 0)).toBe(-k('EBADF'));
    expect(native.mapNextKey(1_000_000, null, new Uint8Array(4))).toBe(-k('EBADF'));
    expect(native.mapLookupAndDelete(1_000_000, null, new Uint8Array(4), 0)).toBe(-k('EBADF'));
  });

  it('round-trips array map elements through the hot paths', () => {
    const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const value = new Uint8Array(8);
      expect(native.mapLookup(fd, u32(1), value, 0)).toBe(0);
      expect(readU64(value)).toBe(0n);
      expect(native.mapUpdate(fd, u32(1), u64(0x1122334455667788n), 0)).toBe(0);
      expect(native.mapLookup(fd, u32(1), value, 0)).toBe(0);
      expect(readU64(value)).toBe(0x1122334455667788n);
      // views at an offset inside a larger buffer
      const big = new Uint8Array(64);
      const keyView = big.subarray(3, 7);
      keyView.set(u32(1));
      const valueView = big.subarray(17, 25);
      expect(native.mapLookup(fd, keyView, valueView, 0)).toBe(0);
      expect(readU64(valueView)).toBe(0x1122334455667788n);
      expect(native.mapLookup(fd, u32(4), value, 0)).toBe(-k('ENOENT'));
      expect(native.mapUpdate(fd, u32(4), value, 0)).toBe(-k('E2BIG'));
      expect(native.mapUpdate(fd, u32(1), value, 1 /* BPF_NOEXIST */)).toBe(-k('EEXIST'));
      expect(native.mapDelete(fd, u32(1), 0)).toBe(-k('EINVAL')); // array elements cannot be deleted
      const next = new Uint8Array(4);
      expect(native.mapNextKey(fd, null, next)).toBe(0);
      expect(readU32(next)).toBe(0);
      expect(native.mapNextKey(fd, u32(2), next)).toBe(0);
      expect(readU32(next)).toBe(3);
      expect(native.mapNextKey(fd, u32(3), next)).toBe(-k('ENOENT'));
    } finally {
      native.close(fd);
    }
  });

  it('round-trips hash map elements, including delete, and batch lookup', () => {
    const fd = createMap(BPF_MAP_TYPE_HASH, 4, 8, 16);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      for (const n of [10, 20, 30]) expect(native.mapUpdate(fd, u32(n), u64(BigInt(n * 100)), 0)).toBe(0);
      const value = new Uint8Array(8);
      expect(native.mapLookup(fd, u32(20), value, 0)).toBe(0);
      expect(readU64(value)).toBe(2000n);
      expect(native.mapDelete(fd, u32(20), 0)).toBe(0);
      expect(native.mapLookup(fd, u32(20), value, 0)).toBe(-k('ENOENT'));
      expect(native.mapDelete(fd, u32(20), 0)).toBe(-k('ENOENT'));
      // iterate
      const seen: number[] = [];
      let cur: Uint8Array | null = null;
      const next = new Uint8Array(4);
      while (native.mapNextKey(fd, cur, next) === 0) {
        seen.push(readU32(next));
        cur = next.slice();
      }
      expect(seen.sort((a, b) => a - b)).toEqual([10, 30]);
      // BPF_MAP_LOOKUP_BATCH: everything in one batch; the kernel ends it with ENOENT and count 2.
      const keys = new Uint8Array(4 * 16);
      const values = new Uint8Array(8 * 16);
      const outBatch = new Uint8Array(4);
      const count = new Uint32Array([16]);
      const r = native.mapBatch(BPF_MAP_LOOKUP_BATCH, fd, null, outBatch, keys, values, count, 0, 0);
      expect(r).toBe(-k('ENOENT'));
      expect(count[0]).toBe(2);
      const got = new Map<number, bigint>();
      for (let i = 0; i < 2; i++) got.set(readU32(keys.subarray(i * 4)), readU64(values.subarray(i * 8)));
      expect(got).toEqual(
        new Map([
          [10, 1000n],
          [30, 3000n],
        ]),
      );
    } finally {
      native.close(fd);
    }
  });

  it('pushes, peeks and pops a queue map with null keys', () => {
    const fd = createMap(BPF_MAP_TYPE_QUEUE, 0, 4, 4);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      expect(native.mapUpdate(fd, null, u32(7), 0)).toBe(0);
      expect(native.mapUpdate(fd, null, u32(8), 0)).toBe(0);
      const out = new Uint8Array(4);
      expect(native.mapLookup(fd, null, out, 0)).toBe(0);
      expect(readU32(out)).toBe(7);
      expect(native.mapLookupAndDelete(fd, null, out, 0)).toBe(0);
      expect(readU32(out)).toBe(7);
      expect(native.mapLookupAndDelete(fd, null, out, 0)).toBe(0);
      expect(readU32(out)).toBe(8);
      expect(native.mapLookupAndDelete(fd, null, out, 0)).toBe(-k('ENOENT'));
    } finally {
      native.close(fd);
    }
  });

  it('mmaps an mmapable array map: writes through mapUpdate show, munmap detaches, twice is safe', () => {
    const pageSize = k('PAGE_SIZE');
    const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const mapping = native.mmap(fd, pageSize, k('PROT_READ') | k('PROT_WRITE'), k('MAP_SHARED'), 0);
      if (typeof mapping === 'number') throw new Error(`mmap failed: ${mapping}`);
      expect(mapping.byteLength).toBe(pageSize);
      const view = new DataView(mapping);
      expect(native.mapUpdate(fd, u32(2), u64(0xdeadbeefcafen), 0)).toBe(0);
      expect(view.getBigUint64(16, true)).toBe(0xdeadbeefcafen);
      // and the other way round
      view.setBigUint64(24, 42n, true);
      const value = new Uint8Array(8);
      expect(native.mapLookup(fd, u32(3), value, 0)).toBe(0);
      expect(readU64(value)).toBe(42n);
      const bytes = new Uint8Array(mapping);
      expect(native.munmap(mapping)).toBe(0);
      expect(mapping.byteLength).toBe(0); // detached
      expect(bytes.length).toBe(0);
      expect(() => view.getUint8(0)).toThrow(TypeError);
      expect(native.munmap(mapping)).toBe(-k('EINVAL'));
      expect(native.munmap(new ArrayBuffer(8))).toBe(-k('EINVAL')); // never unmaps what mmap did not map
      expect(native.mmap(fd, 0, k('PROT_READ'), k('MAP_SHARED'), 0)).toBe(-k('EINVAL'));
      // A mapping nobody unmaps is released by the garbage collector (no crash, no leak to check here).
      expect(typeof native.mmap(fd, pageSize, k('PROT_READ'), k('MAP_SHARED'), 0)).toBe('object');
    } finally {
      native.close(fd);
    }
  });

  it('refuses mmap of a map that is not mmapable', () => {
    const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    try {
      const r = native.mmap(fd, k('PAGE_SIZE'), k('PROT_READ'), k('MAP_SHARED'), 0);
      expect(typeof r).toBe('number');
      expect(r).toBeLessThan(0);
    } finally {
      native.close(fd);
    }
  });

  it('opens a software perf event (cpu clock), enables it by ioctl, and closes it', () => {
    // struct perf_event_attr: type u32 @0, size u32 @4, config u64 @8, flags u64 @40 (bit 0: disabled)
    const attr = new Uint8Array(128);
    const v = new DataView(attr.buffer);
    v.setUint32(0, 1, true); // PERF_TYPE_SOFTWARE
    v.setUint32(4, 128, true);
    v.setBigUint64(8, 0n, true); // PERF_COUNT_SW_CPU_CLOCK
    v.setBigUint64(40, 1n, true); // disabled
    const fd = native.perfEventOpen(attr, 0, -1, -1, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(isCloexec(fd)).toBe(true);
    expect(native.ioctl(fd, k('PERF_EVENT_IOC_ENABLE'), 0)).toBe(0);
    const id = new Uint8Array(8);
    expect(native.ioctl(fd, k('PERF_EVENT_IOC_ID'), id)).toBe(0);
    expect(readU64(id)).not.toBe(0n);
    expect(native.ioctl(fd, k('PERF_EVENT_IOC_DISABLE'), 0)).toBe(0);
    expect(native.close(fd)).toBe(0);
    expect(native.close(fd)).toBe(-k('EBADF'));
    expect(native.perfEventOpen(new Uint8Array(8), 0, -1, -1, 0)).toBe(-k('EINVAL'));
  });

  it('speaks netlink: RTM_GETLINK dump request and its reply (read only)', () => {
    const fd = native.netlinkOpen(k('NETLINK_ROUTE'));
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(isCloexec(fd)).toBe(true);
    try {
      // socket options round trip
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, 1 << 16, true);
      expect(native.setsockopt(fd, k('SOL_SOCKET'), k('SO_RCVBUF'), size)).toBe(0);
      const got = new Uint8Array(4);
      expect(native.getsockopt(fd, k('SOL_SOCKET'), k('SO_RCVBUF'), got)).toBe(4);
      expect(new DataView(got.buffer).getInt32(0, true)).toBeGreaterThanOrEqual(1 << 16);
      expect(native.getsockopt(fd, k('SOL_SOCKET'), k('SO_DOMAIN'), got)).toBe(4);
      expect(new DataView(got.buffer).getInt32(0, true)).toBe(k('AF_NETLINK'));

      const request = getlinkRequest(1);
      expect(native.send(fd, request, 0)).toBe(request.length);
      const buffer = new Uint8Array(1 << 16);
      let links = 0;
      let done = false;
      for (let i = 0; i < 1000 && !done; i++) {
        const n = native.recv(fd, buffer, 0);
        expect(n).toBeGreaterThan(0);
        const v = new DataView(buffer.buffer, 0, n);
        for (let off = 0; off + 16 <= n; ) {
          const len = v.getUint32(off, true);
          const type = v.getUint16(off + 4, true);
          expect(v.getUint32(off + 8, true)).toBe(1); // our seq
          if (type === 3 /* NLMSG_DONE */) done = true;
          else if (type === 16 /* RTM_NEWLINK */) links++;
          else if (type === 2 /* NLMSG_ERROR */) throw new Error(`netlink error ${v.getInt32(off + 16, true)}`);
          off += (len + 3) & ~3;
        }
      }
      expect(done).toBe(true);
      expect(links).toBeGreaterThanOrEqual(1); // at least lo
      expect(native.recv(fd, buffer, k('MSG_DONTWAIT'))).toBe(-k('EAGAIN'));
    } finally {
      native.close(fd);
    }
  });

  it('Poller fires on a readable netlink socket and stops cleanly', async () => {
    const fd = native.netlinkOpen(k('NETLINK_ROUTE'));
    expect(fd).toBeGreaterThanOrEqual(0);
    const events: [number, number][] = [];
    let wake: () => void = () => {};
    const poller = new native.Poller(fd, k('POLLIN'), (status, ev) => {
      events.push([status, ev]);
      // drain, so the fd stops being readable
      const buffer = new Uint8Array(1 << 16);
      while (native.recv(fd, buffer, k('MSG_DONTWAIT')) > 0);
      wake();
    });
    polling.add(poller);
    try {
      poller.start();
      const fired = new Promise<void>((resolve) => (wake = resolve));
      expect(native.send(fd, getlinkRequest(7), 0)).toBe(32);
      await fired;
      expect(events[0]).toEqual([0, k('POLLIN')]);
      poller.stop();
      // stopped: a new reply does not call back
      const before = events.length;
      expect(native.send(fd, getlinkRequest(8), 0)).toBe(32);
      await new Promise((r) => setTimeout(r, 100));
      expect(events.length).toBe(before);
      // started again: the pending reply calls back
      const again = new Promise<void>((resolve) => (wake = resolve));
      poller.start();
      await again;
      expect(events.length).toBeGreaterThan(before);
    } finally {
      poller.close();
      poller.close(); // idempotent
      polling.delete(poller);
      native.close(fd);
    }
    poller.start(); // after close: a no-op
  });

  it('Poller reports a closed or bad fd through the callback instead of crashing', async () => {
    const fd = native.netlinkOpen(k('NETLINK_ROUTE'));
    const statuses: number[] = [];
    let wake: () => void = () => {};
    const poller = new native.Poller(fd, k('POLLIN'), (status) => {
      statuses.push(status);
      wake();
    });
    polling.add(poller);
    // stop before close is the rule; start() after the fd was closed must still not crash
    native.close(fd);
    let fired = new Promise<void>((resolve) => (wake = resolve));
    poller.start();
    await fired;
    expect(statuses).toEqual([-k('EBADF')]);
    poller.close();
    polling.delete(poller);

    const bad = new native.Poller(1_000_000, k('POLLIN'), (status) => {
      statuses.push(status);
      wake();
    });
    polling.add(bad);
    fired = new Promise<void>((resolve) => (wake = resolve));
    bad.start();
    await fired;
    expect(statuses[1]).toBeLessThan(0);
    bad.close();
    polling.delete(bad);
  });

  it('Poller does not keep the event loop alive after stop()/close() and survives garbage collection', () => {
    const common = `
      const fd = addon.netlinkOpen(0);
      const req = new Uint8Array(32); const v = new DataView(req.buffer);
      v.setUint32(0, 32, true); v.setUint16(4, 18, true); v.setUint16(6, 0x301, true);
    `;
    // stop(): the process exits by itself even though the fd stays open and readable
    const stopped = runChild(`${common}
      const p = new addon.Poller(fd, addon.constants.POLLIN, () => {});
      p.start(); p.stop(); addon.send(fd, req, 0);
      globalThis.keep = p;`);
    expect(stopped.signal, stopped.output).toBeNull();
    expect(stopped.status, stopped.output).toBe(0);
    // close() from inside its own callback
    const closed = runChild(`${common}
      const p = new addon.Poller(fd, addon.constants.POLLIN, () => { p.close(); console.log('fired'); });
      p.start(); addon.send(fd, req, 0);`);
    expect(closed.status, closed.output).toBe(0);
    expect(closed.output).toContain('fired');
    // collected while polling: no crash, and the loop is released
    const collected = runChild(
      `${common}
      (() => { const p = new addon.Poller(fd, addon.constants.POLLIN, () => { console.log('callback after gc?'); }); p.start(); })();
      setImmediate(() => { globalThis.gc(); setTimeout(() => { globalThis.gc(); addon.send(fd, req, 0); }, 50); });`,
      ['--expose-gc'],
    );
    expect(collected.signal, collected.output).toBeNull();
    expect(collected.status, collected.output).toBe(0);
    // a started Poller keeps the process alive until it is closed
    const timed = runChild(`${common}
      const p = new addon.Poller(fd, addon.constants.POLLIN, () => {});
      p.start(); const t0 = Date.now();
      setTimeout(() => { p.close(); console.log('closed after', Date.now() - t0); }, 300);`);
    expect(timed.status, timed.output).toBe(0);
    expect(timed.output).toMatch(/closed after \d+/);
  });

  it('an unref()ed started Poller lets the process exit; ref() keeps it alive again', () => {
    const common = `
      const fd = addon.netlinkOpen(0);
      const p = new addon.Poller(fd, addon.constants.POLLIN, () => { console.log('fired'); });
    `;
    // started but unref'd: the process exits on its own (spawnSync's timeout would kill it otherwise)
    const unrefd = runChild(`${common} p.start(); if (p.unref() !== p) process.exit(3); globalThis.keep = p;`);
    expect(unrefd.signal, unrefd.output).toBeNull();
    expect(unrefd.status, unrefd.output).toBe(0);
    // unref then ref: the loop is held until close()
    const refd = runChild(`${common} p.start(); p.unref(); p.ref(); const t0 = Date.now();
      setTimeout(() => { p.close(); p.ref(); p.unref(); console.log('held', Date.now() - t0 >= 200); }, 250);`);
    expect(refd.status, refd.output).toBe(0);
    expect(refd.output).toContain('held true');
  });

  it('hot-path buffer addresses stay right across garbage collections, munmap and detached buffers', () => {
    const r = runChild(
      `
      const mk = (type, k, v, n, flags = 0) => { const a = new Uint8Array(72); const d = new DataView(a.buffer);
        d.setUint32(0, type, true); d.setUint32(4, k, true); d.setUint32(8, v, true); d.setUint32(12, n, true); d.setUint32(16, flags, true);
        return addon.bpf(0, a); };
      const fd = mk(2, 4, 8, 64);
      const check = (cond, what) => { if (!cond) { console.log('FAIL ' + what); process.exit(1); } };
      // many short-lived views, collections in between: every lookup must land in its own buffer
      for (let round = 0; round < 50; round++) {
        const views = [];
        for (let i = 0; i < 64; i++) {
          const key = new Uint8Array(4); new DataView(key.buffer).setUint32(0, i, true);
          check(addon.mapUpdate(fd, key, new Uint8Array(new BigUint64Array([BigInt(round * 1000 + i)]).buffer), 0) === 0, 'update');
          views.push([key, new Uint8Array(8)]);
        }
        if (round % 5 === 0) globalThis.gc(); else { const junk = []; for (let j = 0; j < 2000; j++) junk.push({ j }); }
        for (let i = 0; i < 64; i++) {
          const [key, value] = views[i];
          check(addon.mapLookup(fd, key, value, 0) === 0, 'lookup');
          check(new DataView(value.buffer).getBigUint64(0, true) === BigInt(round * 1000 + i), 'value ' + round + '/' + i);
        }
      }
      // a view over an mmap'd region, cached by a lookup, then unmapped: must not be written through
      const mfd = mk(2, 4, 8, 4, 1 << 10);
      const page = addon.constants.PAGE_SIZE;
      const mapping = addon.mmap(mfd, page, 3, 1, 0);
      check(typeof mapping === 'object', 'mmap');
      const inMapping = new Uint8Array(mapping, 0, 8);
      const key0 = new Uint8Array(4);
      check(addon.mapUpdate(fd, key0, new Uint8Array(new BigUint64Array([77n]).buffer), 0) === 0, 'update 0');
      check(addon.mapLookup(fd, key0, inMapping, 0) === 0, 'lookup into mapping');
      check(new DataView(mapping).getBigUint64(0, true) === 77n, 'value in mapping');
      check(addon.munmap(mapping) === 0, 'munmap');
      check(addon.mapLookup(fd, key0, inMapping, 0) === -addon.constants.EFAULT, 'lookup into an unmapped view faults');
      // a view whose buffer was transferred away: memory-safe either way
      const moving = new Uint8Array(8);
      check(addon.mapLookup(fd, key0, moving, 0) === 0, 'lookup before transfer');
      const moved = structuredClone(moving.buffer, { transfer: [moving.buffer] });
      check(moving.byteLength === 0 && moved.byteLength === 8, 'transferred');
      const r = addon.mapLookup(fd, key0, moving, 0);
      check(r === 0 || r === -addon.constants.EFAULT, 'lookup after transfer: ' + r);
      globalThis.gc();
      check(addon.mapLookup(fd, key0, new Uint8Array(8), 0) === 0, 'lookup after all that');
      console.log('ok');
      `,
      ['--expose-gc'],
    );
    expect(r.signal, r.output).toBeNull();
    expect(r.output.trim(), r.output).toBe('ok');
    expect(r.status).toBe(0);
  });

  it('the Node-API hot paths (BPFKIT_NATIVE_NAPI_ONLY=1) behave like the V8 ones', () => {
    const r = runChild(
      `
      const check = (cond, what) => { if (!cond) { console.log('FAIL ' + what); process.exit(1); } };
      check(addon.constants.HOT_PATHS_V8 === 0, 'napi hot paths in use');
      const a = new Uint8Array(72); const d = new DataView(a.buffer);
      d.setUint32(0, 1, true); d.setUint32(4, 4, true); d.setUint32(8, 8, true); d.setUint32(12, 8, true);
      const fd = addon.bpf(0, a);
      check(fd >= 0, 'create');
      const key = new Uint8Array([1, 0, 0, 0]), value = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]), out = new Uint8Array(8);
      check(addon.mapUpdate(fd, key, value, 0) === 0, 'update');
      check(addon.mapLookup(fd, key, out, 0) === 0 && out.join() === value.join(), 'lookup');
      const next = new Uint8Array(4);
      check(addon.mapNextKey(fd, null, next) === 0 && next[0] === 1, 'next key');
      check(addon.mapNextKey(fd, next, next) === -addon.constants.ENOENT, 'last key');
      check(addon.mapLookupAndDelete(fd, key, out, 0) === 0 && out[0] === 9, 'lookup and delete');
      check(addon.mapDelete(fd, key, 0) === -addon.constants.ENOENT, 'deleted');
      check(addon.mapLookup(-1, key, out, 0) === -addon.constants.EBADF, 'ebadf');
      for (const bad of [() => addon.mapLookup('1', key, out, 0), () => addon.mapUpdate(fd, key, null, 0),
                         () => addon.mapDelete(fd, null, 0), () => addon.mapNextKey(fd, null, 5)]) {
        let threw = null; try { bad(); } catch (e) { threw = e; }
        check(threw instanceof TypeError, 'TypeError from ' + bad);
      }
      console.log('ok');
      `,
      [],
      { BPFKIT_NATIVE_NAPI_ONLY: '1' },
    );
    expect(r.output.trim(), r.output).toBe('ok');
    expect(r.status).toBe(0);
  });

  it('leaves the fd table unchanged after 10,000 map create/close cycles', () => {
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const before = count();
    for (let i = 0; i < 10_000; i++) {
      const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
      if (fd < 0) throw new Error(`BPF_MAP_CREATE failed at cycle ${i}: ${fd}`);
      if (native.close(fd) !== 0) throw new Error(`close failed at cycle ${i}`);
    }
    expect(count()).toBe(before);
  });

  // How fast the fast path is, against C and the generic entry point, is the bench's business (pnpm bench syscall):
  // timings are never asserted in tests. Here: both entry points give the same answer for the same element.
  it('answers BPF_MAP_LOOKUP_ELEM the same through the fast path and the generic entry point', () => {
    const fd = createMap(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    try {
      const key = new Uint8Array(4);
      const stored = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      expect(native.mapUpdate(fd, key, stored, 0)).toBe(0);
      const fast = new Uint8Array(8);
      expect(native.mapLookup(fd, key, fast, 0)).toBe(0);
      const attr = new Uint8Array(32);
      new DataView(attr.buffer).setUint32(0, fd, true);
      const generic = new Uint8Array(8);
      expect(native.bpf(BPF_MAP_LOOKUP_ELEM, attr, [8, 16], [key, generic])).toBe(0);
      expect(Array.from(fast)).toEqual(Array.from(stored));
      expect(Array.from(generic)).toEqual(Array.from(stored));
      // A key past max_entries is ENOENT on both.
      const missing = Uint8Array.of(9, 0, 0, 0);
      expect(native.mapLookup(fd, missing, fast, 0)).toBe(-2);
      expect(native.bpf(BPF_MAP_LOOKUP_ELEM, attr.fill(0, 8), [8, 16], [missing, generic])).toBe(-2);
    } finally {
      native.close(fd);
    }
  });
});
