import { ClosedError, InvalidArgumentError } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { allocProgInfoRequest, progInfoByFd, readU32Array } from '@bpfkit/syscalls';

/**
 * A loaded program's code as the kernel reports it.
 *
 * @example
 * const { xlated, jitedSize, withheld } = programInstructions(prog);
 */
export interface ProgramInstructions {
  /**
   * The translated instructions (after verification and the kernel's
   * rewrites), 8 bytes each in host byte order. Map references read
   * `src_reg` 1 (map) or 2 (map value) with the map's **id** in `imm` (and
   * the value offset in the next slot's `imm`). Empty when withheld.
   */
  xlated: Uint8Array;
  /** The size of the translated program in bytes, as the kernel reports it (0 when withheld). */
  xlatedSize: number;
  /** The size of the JITed image in bytes (0 when the program is interpreted, or withheld). */
  jitedSize: number;
  /**
   * True when the kernel did not hand out the instructions: without
   * CAP_BPF it reports no sizes at all, and a constant-blinded program
   * under `kptr_restrict` / without CAP_SYSLOG gets no copy.
   */
  withheld: boolean;
  /** Ids of the maps the program uses (the ids its map references name). */
  mapIds: number[];
}

/**
 * Reads a loaded program's translated (xlated) instructions and its JITed
 * size (BPF_OBJ_GET_INFO_BY_FD twice: once for the sizes, once with
 * buffers). Helper calls in the result carry the kernel's call offsets, not
 * helper ids; map loads carry map ids.
 *
 * @throws InvalidArgumentError for a program without a kernel fd (the mock's)
 * @throws ClosedError for a closed program
 * @example
 * import { assemble } from '@bpfkit/elf';
 * const instructions = assemble('mov %r0, 42\nexit');
 * using prog = loadKernelProgram({ name: 'answer', type: ProgramType.SOCKET_FILTER, instructions, license: 'GPL' });
 * const { xlated } = programInstructions(prog);
 * disassemble(xlated); // ['0: (b7) r0 = 42', '1: (95) exit']
 */
export function programInstructions(program: number | (Pick<Program, 'fd' | 'name'> & { readonly closed?: boolean })): ProgramInstructions {
  if (typeof program === 'object' && program?.closed) throw new ClosedError(`program '${program.name}'`);
  const fd = typeof program === 'number' ? program : program?.fd;
  if (!Number.isInteger(fd) || fd! < 0)
    throw new InvalidArgumentError('program', 'a kernel program or its fd (mock programs have none)', program);
  const subject = typeof program === 'number' ? `program fd ${fd}` : `program '${program.name}'`;
  const first = progInfoByFd(fd!, undefined, { subject });
  const req = allocProgInfoRequest(first, ['xlatedProgInsns', 'mapIds']);
  const full = first.xlatedProgLen > 0 || first.nrMapIds > 0 ? progInfoByFd(fd!, req, { subject }) : first;
  const size = Math.min(full.xlatedProgLen, req.xlatedProgInsns!.byteLength);
  const xlated = req.xlatedProgInsns!.subarray(0, size - (size % 8));
  // The kernel leaves the buffer untouched (zeros) when it withholds a blinded program: no real program is all zeros.
  const withheld = xlated.byteLength === 0 || xlated.every((b) => b === 0);
  return {
    xlated: withheld ? new Uint8Array(0) : xlated,
    xlatedSize: full.xlatedProgLen,
    jitedSize: full.jitedProgLen,
    withheld,
    mapIds: req.mapIds ? readU32Array(req.mapIds, Math.min(full.nrMapIds, first.nrMapIds)) : [],
  };
}
