import { assemble } from '@bpfkit/elf';

/**
 * Test programs in assembly that load map fds: the assembler has no map
 * pseudo source, so `ldMapFd(reg, fd)` writes an `lddw` of a marked
 * immediate (0x4d000000 + fd, fd < 2^24) and {@link assembleWithMaps} turns
 * every marked `lddw` into a BPF_PSEUDO_MAP_FD load of that fd.
 *
 * @example
 * const insns = assembleWithMaps(`${ldMapFd(1, map.fd)}\nmov %r0, 0\nexit`);
 */
export const ldMapFd = (reg: number, fd: number): string => `lddw %r${reg}, ${0x4d000000 + fd}`;

/** {@link ldMapFd}'s marked `lddw`s as BPF_PSEUDO_MAP_FD loads, in place. */
export function markMapFds(insns: Uint8Array): Uint8Array {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (let i = 0; i + 16 <= insns.length; i += 8) {
    if (insns[i] !== 0x18) continue;
    const imm = view.getInt32(i + 4, true);
    if ((imm & 0xff000000) === 0x4d000000) {
      insns[i + 1] = ((insns[i + 1] as number) & 0x0f) | (1 << 4);
      view.setInt32(i + 4, imm & 0xffffff, true);
    }
    i += 8; // the second half of the lddw
  }
  return insns;
}

/** Assembles `asm` and marks its map loads ({@link ldMapFd}). */
export const assembleWithMaps = (asm: string): Uint8Array => markMapFds(assemble(asm));
