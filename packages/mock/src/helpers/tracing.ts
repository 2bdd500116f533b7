// The helpers tracing programs read the machine with: probe reads of kernel
// and user memory (against what the test provided, and the VM's own memory,
// which is kernel memory), the current task, stacks, formatted output
// (bpf_snprintf into the program's buffer; bpf_trace_printk to the trace
// log the test reads), and the TAI clock. Each answers as the kernel's:
// negative errnos, the destination zeroed where the kernel zeroes it.
import { Errno, Helper } from '@bpfkit/core';
import type { VmHelper } from '../vm/index.js';
import { FormatError, formatBpf, type FormatMemory } from './format.js';
import type { MemorySpace } from './probe-memory.js';
import type { MockRuntime } from './runtime.js';

const neg = (errno: number): number => -errno;
const u32 = (v: bigint): number => Number(v & 0xffffffffn);
/** `bpf_get_stack` flags (include/uapi/linux/bpf.h). */
const BPF_F_SKIP_FIELD_MASK = 0xffn;
const BPF_F_USER_STACK = 1n << 8n;
const BPF_F_USER_BUILD_ID = 1n << 11n;
/** MAX_BPF_FUNC_VARARGS: at most 12 u64 arguments for bpf_snprintf. */
const MAX_VARARGS = 12;

/**
 * `size` bytes at `address` of `space`: memory the test provided
 * (`system.probeMemory`), or for kernel addresses the VM's own memory (a
 * program's stack, map values, its context). Undefined when unreadable.
 */
export function probeBytes(runtime: MockRuntime, address: bigint, size: number, space: MemorySpace | 'any'): Uint8Array | undefined {
  const provided = runtime.probeMemory.read(address, size, space);
  if (provided || space === 'user') return provided;
  const at = runtime.memory.resolve(address);
  if (!at || at.offset < at.region.start || at.offset + size > at.region.end) return undefined;
  return at.region.bytes.subarray(at.offset, at.offset + size);
}

/** The NUL-terminated string at `address` (at most `max` bytes with the NUL), as probe reads see it. */
export function probeString(runtime: MockRuntime, address: bigint, max: number, space: MemorySpace | 'any'): Uint8Array | undefined {
  const provided = runtime.probeMemory.readString(address, max, space);
  if (provided || space === 'user') return provided;
  const at = runtime.memory.resolve(address);
  if (!at || at.offset < at.region.start || at.offset >= at.region.end || max <= 0) return undefined;
  const avail = at.region.bytes.subarray(at.offset, Math.min(at.region.end, at.offset + max - 1));
  const nul = avail.indexOf(0);
  const text = nul >= 0 ? avail.subarray(0, nul) : avail;
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

/** What `%s` and `%pI4` of a format read: probe reads of either space. */
export function formatMemory(runtime: MockRuntime): FormatMemory {
  return {
    string: (p) => {
      const s = probeString(runtime, p, 4096, 'any');
      return s ? new TextDecoder().decode(s.subarray(0, s.length - 1)) : undefined;
    },
    bytes: (p, size) => probeBytes(runtime, p, size, 'any'),
  };
}

/**
 * The tracing helpers of one mock system, by id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from './runtime.js';
 * tracingHelpers(new MockRuntime(defaultEnvironment())).has(Helper.probe_read_kernel); // true
 */
export function tracingHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  const m = runtime.memory;
  const h = new globalThis.Map<number, VmHelper>();

  // bpf_probe_read{,_kernel,_user}(dst, size, unsafe_ptr): 0, or -EFAULT with dst zeroed.
  const read =
    (space: MemorySpace | 'any'): VmHelper =>
    (r1, r2, r3) => {
      const size = u32(r2);
      const dst = m.view(r1, size, true);
      const src = probeBytes(runtime, r3, size, space);
      if (!src) {
        dst.fill(0);
        return neg(Errno.EFAULT);
      }
      dst.set(src);
      return 0;
    };
  // bpf_probe_read{,_kernel,_user}_str(dst, size, unsafe_ptr): the length with the NUL, or -EFAULT with dst zeroed.
  const readStr =
    (space: MemorySpace | 'any'): VmHelper =>
    (r1, r2, r3) => {
      const size = u32(r2);
      if (size === 0) return 0;
      const dst = m.view(r1, size, true);
      const src = probeString(runtime, r3, size, space);
      if (!src) {
        dst.fill(0);
        return neg(Errno.EFAULT);
      }
      dst.set(src);
      return src.length;
    };
  h.set(Helper.probe_read, read('any'));
  h.set(Helper.probe_read_kernel, read('kernel'));
  h.set(Helper.probe_read_user, read('user'));
  h.set(Helper.probe_read_str, readStr('any'));
  h.set(Helper.probe_read_kernel_str, readStr('kernel'));
  h.set(Helper.probe_read_user_str, readStr('user'));

  h.set(Helper.get_current_task, () => BigInt.asUintN(64, runtime.environment.task));
  h.set(Helper.ktime_get_tai_ns, () => BigInt.asUintN(64, runtime.environment.clock()));

  // bpf_get_stack(ctx, buf, size, flags): the bytes written (8 a frame), the rest of buf zeroed.
  h.set(Helper.get_stack, (_r1, r2, r3, r4) => {
    const size = u32(r3);
    if (r4 & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID) || size % 8 !== 0) return neg(Errno.EINVAL);
    // Build ids need the user stack, and 32-byte records the mock does not make.
    if (r4 & BPF_F_USER_BUILD_ID) return neg(Errno.EINVAL);
    const buf = m.view(r2, size, true);
    const stack = r4 & BPF_F_USER_STACK ? runtime.environment.stack.user : runtime.environment.stack.kernel;
    const frames = stack.slice(Number(r4 & BPF_F_SKIP_FIELD_MASK), Number(r4 & BPF_F_SKIP_FIELD_MASK) + size / 8);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    buf.fill(0);
    frames.forEach((ip, i) => {
      view.setBigUint64(i * 8, BigInt.asUintN(64, ip), true);
    });
    return frames.length * 8;
  });

  // bpf_snprintf(str, str_size, fmt, data, data_len): the formatted length with its NUL (str holds what fits).
  h.set(Helper.snprintf, (r1, r2, r3, r4, r5) => {
    const size = u32(r2);
    const dataLen = u32(r5);
    if (dataLen % 8 !== 0 || dataLen / 8 > MAX_VARARGS || (dataLen > 0 && r4 === 0n)) return neg(Errno.EINVAL);
    const fmt = probeString(runtime, r3, 1 << 16, 'kernel');
    if (!fmt) return neg(Errno.EINVAL);
    const data = dataLen ? m.view(r4, dataLen) : new Uint8Array(0);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const args = Array.from({ length: dataLen / 8 }, (_, i) => view.getBigUint64(i * 8, true));
    let text: string;
    try {
      text = formatBpf(new TextDecoder().decode(fmt.subarray(0, fmt.length - 1)), args, formatMemory(runtime));
    } catch (err) {
      if (err instanceof FormatError) return neg(Errno.EINVAL);
      throw err;
    }
    const bytes = new TextEncoder().encode(text);
    if (size > 0) {
      const out = m.view(r1, size, true);
      const n = Math.min(bytes.length, size - 1);
      out.set(bytes.subarray(0, n));
      out[n] = 0;
    }
    return bytes.length + 1;
  });
  return h;
}
