// bpf_fib_lookup (answered by the environment's fibLookup) and the spin
// lock helpers of map values (one CPU runs programs on the mock, so a lock
// taken twice or released unheld can only be a program's bug: the kernel's
// verifier refuses such programs, the mock faults where it happens).
import { Errno, Helper } from '@bpfkit/core';
import { VmFault, type VmHelper } from '../vm/index.js';
import type { MockRuntime } from './runtime.js';

const neg = (errno: number): number => -errno;
/** sizeof(struct bpf_fib_lookup). */
const FIB_LOOKUP_SIZE = 64;
/** BPF_FIB_LOOKUP_DIRECT | OUTPUT | SKIP_NEIGH | TBID | SRC | MARK. */
const FIB_LOOKUP_FLAGS = 0x3fn;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * `bpf_fib_lookup` and `bpf_spin_lock`/`bpf_spin_unlock` of one mock system, by id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from './runtime.js';
 * packetExtraHelpers(new MockRuntime(defaultEnvironment())).has(Helper.fib_lookup); // true
 */
export function packetExtraHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  const m = runtime.memory;
  const h = new globalThis.Map<number, VmHelper>();
  // bpf_fib_lookup(ctx, params, plen, flags): a BPF_FIB_LKUP_RET_* code, or a negative errno for bad arguments.
  h.set(Helper.fib_lookup, (_r1, r2, r3, r4) => {
    if (Number(r3 & 0xffffffffn) !== FIB_LOOKUP_SIZE || r4 & ~FIB_LOOKUP_FLAGS) return neg(Errno.EINVAL);
    const params = m.view(r2, FIB_LOOKUP_SIZE, true);
    const family = params[0];
    if (family !== AF_INET && family !== AF_INET6) return neg(Errno.EAFNOSUPPORT);
    return runtime.environment.fibLookup(params, Number(r4));
  });
  // struct bpf_spin_lock is a u32: 1 while held.
  const lock =
    (take: boolean): VmHelper =>
    (r1, _r2, _r3, _r4, _r5, env) => {
      const word = m.view(r1, 4, true);
      const held = word[0] !== 0;
      if (held === take) {
        throw new VmFault(
          'helper',
          env.program,
          env.instruction,
          take ? 'bpf_spin_lock of a lock already held (a deadlock on the kernel)' : 'bpf_spin_unlock of a lock not held',
        );
      }
      word.fill(0);
      if (take) word[0] = 1;
      return 0;
    };
  h.set(Helper.spin_lock, lock(true));
  h.set(Helper.spin_unlock, lock(false));
  return h;
}
