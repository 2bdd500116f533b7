import { AttachType, BpfError, ProgramType, VerifierError } from '@bpfkit/core';
import { cStringArray } from '../sys/call.js';
import { btfLoad, closeFd, linkCreate, mapCreate, mapLookupBatch, objPin, progLoad, progStreamRead } from '../sys/index.js';
import { RETURN_ZERO } from './probe-sys.js';
import type { ProbeSys } from './probe-sys.js';

/** Runs `f`, turning a BpfError into `-errno`. */
function errnoOf(f: () => number): number {
  try {
    return f();
  } catch (err) {
    if (err instanceof BpfError) return -err.errno;
    throw err;
  }
}

/** A descriptor number that is never open (above any RLIMIT_NOFILE in use). */
const BAD_FD = 0x3fffffff;

/** {@link ProbeSys} over the real bpf() system call. */
export function nativeProbeSys(): ProbeSys {
  const log = new Uint8Array(4096);
  return {
    mapCreate: (a) =>
      errnoOf(() =>
        mapCreate({
          mapType: a.type,
          keySize: a.keySize,
          valueSize: a.valueSize,
          maxEntries: a.maxEntries,
          mapFlags: a.flags ?? 0,
          innerMapFd: a.innerMapFd ?? 0,
          btfFd: a.btfFd ?? 0,
          btfKeyTypeId: a.btfKeyTypeId ?? 0,
          btfValueTypeId: a.btfValueTypeId ?? 0,
          btfVmlinuxValueTypeId: a.btfVmlinuxValueTypeId ?? 0,
          mapExtra: a.mapExtra ?? 0n,
        }),
      ),
    progLoad(a) {
      log.fill(0, 0, 64);
      try {
        const fd = progLoad(
          {
            progType: a.type,
            insns: a.instructions,
            insnCnt: a.instructions.byteLength / 8,
            license: a.license,
            expectedAttachType: a.expectedAttachType ?? 0,
            attachBtfId: a.attachBtfId ?? 0,
            kernVersion: a.kernelVersion ?? 0,
            progFlags: a.flags ?? 0,
          },
          { buffer: log, level: 1 },
        );
        return { fd, log: '' };
      } catch (err) {
        // A log that did not fit (ENOSPC) still proves the verifier ran.
        if (err instanceof VerifierError) return { fd: -err.errno, log: err.log };
        if (err instanceof BpfError) return { fd: -err.errno, log: '' };
        throw err;
      }
    },
    btfLoad: (blob) => errnoOf(() => btfLoad(blob)),
    mapLookupBatch(fd, keySize, valueSize) {
      const count = 1;
      return errnoOf(() => {
        mapLookupBatch({
          mapFd: fd,
          inBatch: null,
          outBatch: new Uint8Array(Math.max(keySize, 4)),
          keys: new Uint8Array(keySize * count),
          values: new Uint8Array(valueSize * count),
          count,
        });
        return 0;
      });
    },
    // An fd number no process has open (fds are small): the kernel's fd lookup fails with EBADF.
    pinRelativeToBadDirectory() {
      const fd = mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
      try {
        return errnoOf(() => {
          objPin('bpfkit-probe', fd, { pathFd: BAD_FD });
          return 0;
        });
      } finally {
        closeFd(fd);
      }
    },
    readStreamOfBadFd: () => errnoOf(() => progStreamRead(BAD_FD, 1, new Uint8Array(8))),
    kprobeMultiOnMissingFunction() {
      const prog = errnoOf(() =>
        progLoad({
          progType: ProgramType.KPROBE,
          insns: RETURN_ZERO,
          insnCnt: RETURN_ZERO.byteLength / 8,
          license: 'GPL',
          expectedAttachType: AttachType.TRACE_KPROBE_MULTI,
        }),
      );
      if (prog < 0) return prog;
      try {
        const syms = cStringArray(['bpfkit_probe_no_such_function']);
        return errnoOf(() => {
          const link = linkCreate({ progFd: prog, attachType: AttachType.TRACE_KPROBE_MULTI, kprobeMulti: { cnt: 1, syms } });
          closeFd(link);
          return 0;
        });
      } finally {
        closeFd(prog);
      }
    },
    close: (fd) => closeFd(fd),
  };
}
