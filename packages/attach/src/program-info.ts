import type { ProgramInfo } from '@bpfkit/core';
import { allocProgInfoRequest, progInfoByFd, readU32Array } from '@bpfkit/syscalls';

/**
 * The full {@link ProgramInfo} of a program fd, with the optional fields the
 * kernel reports (GPL compatibility, creator uid, verified instructions,
 * recursion misses, BTF info counts, attach BTF ids). Does not take
 * ownership of `fd`.
 *
 * @example
 * kernelProgramInfo(prog.fd).verifiedInsns;
 */
export function kernelProgramInfo(fd: number, subject = `program fd ${fd}`): ProgramInfo {
  const first = progInfoByFd(fd, undefined, { subject });
  const req = allocProgInfoRequest(first, ['mapIds']);
  const full = req.mapIds?.byteLength ? progInfoByFd(fd, req, { subject }) : first;
  return {
    id: full.id,
    name: full.name,
    type: full.type,
    tag: Buffer.from(full.tag).toString('hex'),
    // The count may have grown between the calls only on kernels that let maps be bound later: keep what fits.
    mapIds: req.mapIds ? readU32Array(req.mapIds, Math.min(full.nrMapIds, first.nrMapIds)) : [],
    runCount: BigInt(full.runCnt),
    runTimeNs: BigInt(full.runTimeNs),
    xlatedSize: full.xlatedProgLen,
    jitedSize: full.jitedProgLen,
    btfId: full.btfId,
    loadTime: BigInt(full.loadTime),
    gplCompatible: full.gplCompatible,
    createdByUid: full.createdByUid,
    verifiedInsns: full.verifiedInsns,
    recursionMisses: BigInt(full.recursionMisses),
    funcInfoCount: full.nrFuncInfo,
    lineInfoCount: full.nrLineInfo,
    attachBtfObjId: full.attachBtfObjId,
    attachBtfId: full.attachBtfId,
  };
}
