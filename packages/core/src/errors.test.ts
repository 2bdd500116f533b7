import { describe, expect, it } from 'vitest';
import { Errno } from './errno.js';
import { NotSupportedError, summarizeVerifierLog, VerifierError } from './errors.js';

// A log as Linux 6.18 writes it for a program loaded with line info (BTF.ext).
const LOG = `func#0 @0
0: R1=ctx() R10=fp0
; __u32 key = 0; @ rejected.bpf.c:20
0: (b4) w1 = 0                        ; R1_w=0
; __u64 *v = bpf_map_lookup_elem(&values, &key); @ rejected.bpf.c:21
1: (63) *(u32 *)(r10 -4) = r1         ; R1_w=0 R10=fp0 fp-8=0000????
2: (bf) r2 = r10                      ; R2_w=fp0 R10=fp0
3: (07) r2 += -4                      ; R2_w=fp-4
4: (18) r1 = 0xffff8880047d6c00       ; R1_w=map_ptr(map=values,ks=4,vs=8)
6: (85) call bpf_map_lookup_elem#1    ; R0_w=map_value_or_null(id=1,map=values,ks=4,vs=8)
; return *v; // no NULL check: the verifier refuses this @ rejected.bpf.c:22
7: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
verification time 52 usec
stack depth 4
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

describe('verifier log summary', () => {
  it('names the reason, the instruction and the C source line', () => {
    const s = summarizeVerifierLog(LOG);
    expect(s.instruction).toBe(7);
    expect(s.source).toBe('rejected.bpf.c:22: return *v; // no NULL check: the verifier refuses this');
    expect(s.line).toBe(
      "R0 invalid mem access 'map_value_or_null' (at instruction 7, rejected.bpf.c:22: return *v; // no NULL check: the verifier refuses this)",
    );
  });

  it('takes the source text alone from kernels before 6.4', () => {
    const old = LOG.replace(/ @ rejected\.bpf\.c:\d+$/gm, '');
    const s = summarizeVerifierLog(old);
    expect(s.source).toBe('return *v; // no NULL check: the verifier refuses this');
    expect(s.line).toBe(
      "R0 invalid mem access 'map_value_or_null' (at instruction 7, return *v; // no NULL check: the verifier refuses this)",
    );
  });

  it('works without line info', () => {
    const s = summarizeVerifierLog('0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok\nprocessed 2 insns\n');
    expect(s).toEqual({ line: 'R0 !read_ok (at instruction 1)', instruction: 1 });
  });

  it('puts the summary in the error message with the program name', () => {
    const err = new VerifierError('unchecked_lookup', Errno.EACCES, LOG);
    expect(err.message).toMatch(/program 'unchecked_lookup'/);
    expect(err.message).toMatch(/invalid mem access 'map_value_or_null' \(at instruction 7, rejected\.bpf\.c:22/);
    expect(err.log).toBe(LOG);
    expect(err.instruction).toBe(7);
  });
});

describe('NotSupportedError', () => {
  it('says the kernel lacks the feature unless it names what does', () => {
    const kernel = new NotSupportedError('ring buffer maps', '5.8');
    expect(kernel.message).toBe('ring buffer maps is not supported by this kernel (requires at least Linux 5.8)');
    expect(kernel.lackedBy).toBe('this kernel');
    const library = new NotSupportedError('reading ring buffer maps', undefined, 'it has no ring buffer reader yet', 'bpfkit');
    expect(library.message).toBe('reading ring buffer maps is not supported by bpfkit: it has no ring buffer reader yet');
    expect(library.lackedBy).toBe('bpfkit');
  });
});
