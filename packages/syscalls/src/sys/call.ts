/**
 * The one place that calls `native.bpf()` and turns a negative result into a
 * `BpfError`.
 *
 * @module
 */
import { BpfError, NotSupportedError } from '@bpfkit/core';
import { native } from '../native.js';
import { bpfCommandName, type BpfCommand } from '../commands.js';
import { HOST_LITTLE_ENDIAN, cString, type EncodedAttr, type EncodedStruct } from '../attr/layout.js';

/** What a caller can add to the error of a failed call. */
export interface BpfCallContext {
  /** What the caller was doing, e.g. `map 'events'`; prefixed to the error message. */
  subject?: string;
  /** Advice that replaces the generic hint for the errno. */
  hint?: string;
}

/**
 * Calls `bpf(cmd, attr)` and returns its non-negative result, or throws a
 * `BpfError` carrying the errno, `syscall: 'bpf'` and the command name.
 *
 * @example
 * const fields = { mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, mapName: 'counts' };
 * const fd = callBpf(BpfCommand.BPF_MAP_CREATE, encodeMapCreateAttr(fields), { subject: "map 'counts'" });
 */
export function callBpf(cmd: BpfCommand, encoded: EncodedAttr, ctx: BpfCallContext = {}): number {
  const r = native.bpf(cmd, encoded.attr, encoded.ptrOffsets, encoded.ptrBuffers);
  if (r < 0) throw bpfError(cmd, -r, ctx);
  return r;
}

/**
 * Calls `bpf(cmd, attr)` and returns the raw result: non-negative on success,
 * `-errno` on failure (no exception), for callers that treat an errno as an
 * answer (ENOENT at the end of an iteration).
 */
export function tryBpf(cmd: BpfCommand, encoded: EncodedAttr): number {
  return native.bpf(cmd, encoded.attr, encoded.ptrOffsets, encoded.ptrBuffers);
}

/**
 * {@link tryBpf} on the libuv thread pool (`native.bpfAsync`): the result
 * or -errno, without blocking the event loop.
 *
 * @example
 * declare const fields: ProgLoadAttr;
 * const r = await tryBpfAsync(BpfCommand.BPF_PROG_LOAD, encodeProgLoadAttr(fields));
 */
export function tryBpfAsync(cmd: BpfCommand, encoded: EncodedAttr): Promise<number> {
  return native.bpfAsync(cmd, encoded.attr, encoded.ptrOffsets, encoded.ptrBuffers);
}

/** Builds the `BpfError` for a failed `bpf(cmd)`. */
export function bpfError(cmd: BpfCommand, errno: number, ctx: BpfCallContext = {}): BpfError {
  return new BpfError(errno, { syscall: 'bpf', command: bpfCommandName(cmd), subject: ctx.subject, hint: ctx.hint });
}

/** A command number no kernel implements: the call only gets `native.bpf` to patch addresses. */
const NO_COMMAND = -1;

/**
 * Writes the addresses of a struct's pointer buffers into its bytes, for a
 * struct that is itself passed by pointer (a `bpf_*_info` buffer behind
 * `bpf_attr.info`, a `perf_event_attr` with `kprobe_func`), where the native
 * side patches only the top level.
 *
 * `native.bpf` writes each buffer's address into the attr it is given before
 * making the call; calling it with a command no kernel has (the kernel
 * answers EINVAL and touches nothing) on a scratch attr yields the addresses.
 * The buffers keep their addresses for as long as they are alive (typed
 * array backing stores do not move once their address has been taken).
 */
export function resolveNestedPointers(struct: EncodedStruct): void {
  const n = struct.ptrOffsets.length;
  if (n === 0) return;
  const scratch = new Uint8Array(8 * n);
  const offsets = struct.ptrOffsets.map((_, i) => 8 * i);
  native.bpf(NO_COMMAND, scratch, offsets, struct.ptrBuffers);
  const src = new DataView(scratch.buffer);
  const dst = new DataView(struct.bytes.buffer, struct.bytes.byteOffset, struct.bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const address = src.getBigUint64(8 * i, HOST_LITTLE_ENDIAN);
    const buf = struct.ptrBuffers[i];
    if (address === 0n && buf != null && buf.byteLength > 0) {
      throw new NotSupportedError(
        'pointers inside a struct passed by pointer',
        undefined,
        'the native addon did not report buffer addresses (native.bpf must patch attr in place)',
      );
    }
    dst.setBigUint64(struct.ptrOffsets[i]!, address, HOST_LITTLE_ENDIAN);
  }
}

/**
 * A `const char *[]` the kernel can read (kprobe_multi `syms`): one buffer
 * holding `strings.length` pointers followed by the NUL-terminated strings
 * they point to, so the strings live exactly as long as the array does.
 * The array's own address is learned the way {@link resolveNestedPointers}
 * learns one; pass the buffer as the pointer field and keep it referenced
 * until the call returns.
 *
 * @example
 * const syms = cStringArray(['do_unlinkat', 'do_rmdir']);
 * linkCreate({ progFd, attachType: AttachType.TRACE_KPROBE_MULTI, kprobeMulti: { syms, cnt: 2 } });
 */
export function cStringArray(strings: readonly string[]): Uint8Array {
  const encoded = strings.map((s) => cString(s));
  const head = 8 * encoded.length;
  const buf = new Uint8Array(Math.max(8, head + encoded.reduce((n, b) => n + b.byteLength, 0)));
  const at: number[] = [];
  let offset = head;
  for (const b of encoded) {
    buf.set(b, offset);
    at.push(offset);
    offset += b.byteLength;
  }
  const scratch = new Uint8Array(8);
  native.bpf(NO_COMMAND, scratch, [0], [buf]);
  const base = new DataView(scratch.buffer).getBigUint64(0, HOST_LITTLE_ENDIAN);
  if (base === 0n) {
    throw new NotSupportedError(
      'arrays of string pointers',
      undefined,
      'the native addon did not report buffer addresses (native.bpf must patch attr in place)',
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const [i, o] of at.entries()) view.setBigUint64(8 * i, base + BigInt(o), HOST_LITTLE_ENDIAN);
  return buf;
}
