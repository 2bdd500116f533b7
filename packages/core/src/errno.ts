/**
 * Linux errno numbers (asm-generic/errno-base.h and asm-generic/errno.h; the
 * same on every architecture bpfkit runs on: x86-64, arm64, riscv64).
 *
 * Kept here rather than taken from `node:os` so that `@bpfkit/core` runs in
 * any JavaScript runtime.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  ENOLINK: 67,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EILSEQ: 84,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EDQUOT: 122,
  ECANCELED: 125,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  ERFKILL: 132,
  EHWPOISON: 133,
  // Kernel-internal codes that bpf() can still return to user space (include/linux/errno.h).
  ENOTSUPP: 524,
  EBADTYPE: 527,
} as const;

/** A symbolic errno name such as `'ENOENT'`. */
export type ErrnoCode = keyof typeof Errno;

const byNumber = new globalThis.Map<number, ErrnoCode>((Object.entries(Errno) as [ErrnoCode, number][]).map(([k, v]) => [v, k]));

/**
 * The symbolic name of an errno number, or `E<number>` when unknown.
 *
 * @example
 * errnoName(2); // 'ENOENT'
 */
export function errnoName(errno: number): string {
  return byNumber.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

const descriptions: Partial<Record<ErrnoCode, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such entry',
  EINTR: 'interrupted',
  E2BIG: 'argument list too long',
  EBADF: 'bad file descriptor',
  EAGAIN: 'try again',
  ENOMEM: 'out of memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'device or resource busy',
  EEXIST: 'already exists',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left',
  ERANGE: 'result out of range',
  ENOSYS: 'function not implemented',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUPP: 'operation not supported',
  ELOOP: 'too many levels of symbolic links',
  ENOTDIR: 'not a directory',
  ESRCH: 'no such process',
  ENXIO: 'no such device or address',
  EIO: 'I/O error',
  EOVERFLOW: 'value too large',
  ENOTTY: 'inappropriate ioctl',
  EPROTO: 'protocol error',
};

/** A short human description of an errno, e.g. `'no such entry'`. */
export function errnoDescription(errno: number): string {
  const name = byNumber.get(Math.abs(errno));
  return (name && descriptions[name]) ?? `errno ${Math.abs(errno)}`;
}
