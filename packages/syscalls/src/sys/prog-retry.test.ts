import { BpfError, Errno, ProgramType } from '@bpfkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BpfCommand } from '../commands.js';
import { native, nativeLoadError } from '../native.js';
import { progLoad, progLoadAsync } from './prog.js';

const EXIT_ONLY = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
const fields = { progType: ProgramType.SOCKET_FILTER, insns: EXIT_ONLY, license: 'GPL' };

// The verifier abandons a load with EAGAIN when a signal is pending: the load is tried again.
describe.skipIf(nativeLoadError !== null)('BPF_PROG_LOAD interrupted by a signal', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is tried again until it gets an answer', async () => {
    const answers = [-Errno.EAGAIN, -Errno.EAGAIN, 1234];
    const bpf = vi.spyOn(native, 'bpf').mockImplementation(() => answers.shift()!);
    expect(progLoad(fields)).toBe(1234);
    expect(bpf).toHaveBeenCalledTimes(3);
    expect(bpf.mock.calls.every((c) => c[0] === BpfCommand.BPF_PROG_LOAD)).toBe(true);

    const later = [-Errno.EAGAIN, 4321];
    const bpfAsync = vi.spyOn(native, 'bpfAsync').mockImplementation(async () => later.shift()!);
    await expect(progLoadAsync(fields)).resolves.toBe(4321);
    expect(bpfAsync).toHaveBeenCalledTimes(2);
  });

  it('gives up after 5 attempts with the EAGAIN error, and does not retry other errors', async () => {
    const bpf = vi.spyOn(native, 'bpf').mockReturnValue(-Errno.EAGAIN);
    const err = (() => {
      try {
        progLoad(fields);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errno).toBe(Errno.EAGAIN);
    expect(bpf).toHaveBeenCalledTimes(5);

    bpf.mockClear();
    bpf.mockReturnValue(-Errno.EINVAL);
    expect(() => progLoad(fields)).toThrow(BpfError);
    expect(bpf).toHaveBeenCalledTimes(1);

    const bpfAsync = vi.spyOn(native, 'bpfAsync').mockResolvedValue(-Errno.EAGAIN);
    await expect(progLoadAsync(fields)).rejects.toMatchObject({ errno: Errno.EAGAIN });
    expect(bpfAsync).toHaveBeenCalledTimes(5);
  });
});
