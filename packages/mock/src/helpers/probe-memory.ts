import { InvalidArgumentError } from '@bpfkit/core';

/** Whose memory an address is: the kernel's, or the traced process's. */
export type MemorySpace = 'kernel' | 'user';

/**
 * Where {@link MockProbeMemory.provide} places memory: a kernel address
 * like the direct map's (`0xffff888…`), or a user address like a
 * process's mappings (`0x7f…`).
 */
const BASES: Readonly<Record<MemorySpace, bigint>> = { kernel: 0xffff_8880_0010_0000n, user: 0x0000_7f00_0010_0000n };
/** Between two blocks placed by provide(): a gap, so a read past one block's end faults instead of reading the next. */
const GAP = 0x1000n;

interface Block {
  readonly address: bigint;
  readonly bytes: Uint8Array;
  readonly space: MemorySpace;
  readonly name: string;
}

/**
 * Memory a test provides for programs to read with `bpf_probe_read_kernel`,
 * `bpf_probe_read_user` (and their `_str` forms, and the legacy
 * `bpf_probe_read`): blocks of bytes at kernel or user addresses, like the
 * structures and strings a kprobe or tracepoint program follows pointers
 * to. The bytes are live: what the test changes later, programs read. A
 * read outside every block, or of the other space, fails as on the kernel
 * (`-EFAULT`, the destination zeroed). Programs cannot load from these
 * addresses directly (the kernel's verifier refuses plain loads through
 * such pointers): the VM faults.
 *
 * @example
 * using system = new MockSystem();
 * const path = system.probeMemory.provide(new TextEncoder().encode('/etc/passwd\0'), { space: 'user' });
 * system.fire({ kind: 'kprobe', symbol: 'do_sys_openat2' }, ptRegs({ args: [-100n, path] }));
 */
export class MockProbeMemory {
  readonly #blocks: Block[] = [];
  readonly #next: Record<MemorySpace, bigint> = { ...BASES };

  /**
   * Makes `bytes` readable by probe reads at an address of `space` (default
   * `'kernel'`): `options.address` when given (it must not overlap another
   * block), else the next free address of that space. Returns the address.
   */
  provide(bytes: Uint8Array, options: { space?: MemorySpace; address?: bigint; name?: string } = {}): bigint {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', 'a Uint8Array', bytes);
    const space = options.space ?? 'kernel';
    if (space !== 'kernel' && space !== 'user') throw new InvalidArgumentError('options.space', "'kernel' or 'user'", space);
    let address = options.address;
    if (address === undefined) {
      address = this.#next[space];
      this.#next[space] = address + ((BigInt(bytes.length) + GAP + 0xfffn) & ~0xfffn);
    } else if (typeof address !== 'bigint' || address <= 0n || address + BigInt(bytes.length) > 0xffff_ffff_ffff_ffffn) {
      throw new InvalidArgumentError('options.address', 'a positive 64-bit address (bigint) the bytes fit after', address);
    }
    const end = address + BigInt(bytes.length);
    const overlap = this.#blocks.find((b) => address < b.address + BigInt(b.bytes.length) && b.address < end);
    if (overlap) {
      throw new InvalidArgumentError(
        'options.address',
        `an address range no other block uses (${overlap.name} is at 0x${overlap.address.toString(16)})`,
        address,
      );
    }
    this.#blocks.push({ address, bytes, space, name: options.name ?? `${space} memory at 0x${address.toString(16)}` });
    return address;
  }

  /** Removes the block provided at `address`; returns whether there was one. */
  release(address: bigint): boolean {
    const i = this.#blocks.findIndex((b) => b.address === address);
    if (i < 0) return false;
    this.#blocks.splice(i, 1);
    return true;
  }

  /** The bytes `[address, address + size)` of `space` (`'any'`: either), or undefined when not all provided. */
  read(address: bigint, size: number, space: MemorySpace | 'any'): Uint8Array | undefined {
    const block = this.#blockAt(address, space);
    if (!block) return undefined;
    const offset = Number(address - block.address);
    if (offset + size > block.bytes.length) return undefined;
    return block.bytes.subarray(offset, offset + size);
  }

  /**
   * The NUL-terminated string at `address`, at most `max` bytes with its
   * NUL (cut there and terminated when longer), or undefined when its
   * first byte is not provided. The read stops at the block's end.
   */
  readString(address: bigint, max: number, space: MemorySpace | 'any'): Uint8Array | undefined {
    const block = this.#blockAt(address, space);
    if (!block || max <= 0) return undefined;
    const offset = Number(address - block.address);
    const avail = block.bytes.subarray(offset, Math.min(block.bytes.length, offset + max - 1));
    const nul = avail.indexOf(0);
    const text = nul >= 0 ? avail.subarray(0, nul) : avail;
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    return out;
  }

  #blockAt(address: bigint, space: MemorySpace | 'any'): Block | undefined {
    return this.#blocks.find(
      (b) => (space === 'any' || b.space === space) && address >= b.address && address < b.address + BigInt(b.bytes.length),
    );
  }
}
