/**
 * How to load a program: the verifier log wanted, and what the loader
 * links it with (its BTF with func and line info, the attach target's BTF
 * id and object, the kfunc `fd_array`). The kernel backend's
 * `loadKernelProgram` takes it, and the collection loader passes it to each
 * backend's port.
 *
 * @example
 * const options: LoadProgramOptions = { logLevel: 2, logAlways: true };
 */
export interface LoadProgramOptions {
  /**
   * Verifier log level on failure: 1 (the failing path, default), 2 (every
   * instruction), or 0 to skip the retry with a log. A non-zero level also
   * logs successful loads when `logAlways` is set.
   */
  logLevel?: 0 | 1 | 2;
  /**
   * Load with the log from the start and keep it on success too
   * (`KernelProgram.verifierLog` on the kernel backend: the verifier's statistics, and at
   * level 2 every instruction it walked). Costs the log buffer on every load.
   */
  logAlways?: boolean;
  /** First log buffer size in bytes (grown until the log fits; at least 128). Default 64 KiB. */
  logSize?: number;
  /**
   * The program's BTF (`prog_btf_fd`) with its function and line info, in
   * instruction (8-byte slot) offsets, as `.BTF.ext` gives them after linking.
   */
  btf?: {
    fd: number;
    funcInfo?: readonly { insnOff: number; typeId: number }[];
    lineInfo?: readonly { insnOff: number; fileNameOff: number; lineOff: number; lineCol: number }[];
  };
  /** `attach_btf_id`: the kernel BTF type a tracing, LSM or iterator program attaches to. */
  attachBtfId?: number;
  /** `attach_btf_obj_fd`: the module BTF holding `attachBtfId` (0 or absent: vmlinux). */
  attachBtfObjFd?: number;
  /** `fd_array`: module BTF fds that kfunc calls index with their `off` field (index 0 unused: vmlinux). */
  fdArray?: readonly number[];
}
