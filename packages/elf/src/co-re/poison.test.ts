import { describe, expect, it } from 'vitest';
import { assemble } from '../asm/assemble.js';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import { CoreReloKind } from './kinds.js';
import { explainPoisonedCall } from './poison.js';
import { resolveCoreRelocations } from './resolve.js';

// A program whose read of task___future.gone (absent from the target) is poisoned at instruction 2.
const l = new BtfBuilder();
const int = l.addInt('int', 4, true);
const task = l.addStruct('task', 8, [['pid', int, 0]]);
const future = l.addStruct('task___future', 4, [['gone', int, 0]]);
const t = new BtfBuilder();
t.addStruct('task', 16, [['pid', t.addInt('int', 4, true), 8]]);
const { report } = resolveCoreRelocations({
  instructions: assemble('ldxw %r1, [%r6+0]\nmov %r2, 1\nadd %r7, 0\nldxw %r3, [%r7+0]\nexit'),
  relocations: [
    { index: 0, typeId: task, accessString: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET },
    { index: 1, typeId: future, accessString: '0:0', kind: CoreReloKind.FIELD_EXISTS },
    { index: 2, typeId: future, accessString: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET },
  ],
  localBtf: parseBtf(l.encode()),
  targetBtf: parseBtf(t.encode()),
  programName: 'prog',
});

// What the kernel's verifier prints when it reaches the poisoned call (log level 1).
const verifierLog = [
  'func#0 @0',
  '0: R1=ctx() R10=fp0',
  '0: (61) r1 = *(u32 *)(r6 +8)',
  '1: (b7) r2 = 0                       ; R2_w=0',
  '2: (85) call unknown#195896080',
  'invalid func unknown#195896080',
  'processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
].join('\n');

describe('explainPoisonedCall', () => {
  it('names the poisoned relocation the verifier stopped at', () => {
    const why = explainPoisonedCall(verifierLog, report)!;
    expect(why.instruction).toBe(2);
    expect(why.relocation).toBe(report[2]);
    expect(why.relocation).toMatchObject({ status: 'poisoned', kindName: 'byte_off', localType: 'struct task___future' });
    expect(why.message).toBe(
      "instruction 2: CO-RE relocation byte_off of struct task___future.gone (0:0 @ offset 0) failed and the instruction was poisoned: struct task [2]: no member 'gone' in struct task",
    );
  });

  it('falls back to the only poisoned relocation when the log does not print instructions', () => {
    const why = explainPoisonedCall('invalid func unknown#195896080\n', report)!;
    expect(why.instruction).toBeUndefined();
    expect(why.relocation).toBe(report[2]);
    expect(why.message).toMatch(/^instruction 2: CO-RE relocation byte_off/);
  });

  it('says nothing about other failures, or a call that is no poisoned relocation', () => {
    expect(explainPoisonedCall('0: (85) call bpf_map_lookup_elem#1\nR1 type=ctx expected=map_ptr', report)).toBeUndefined();
    expect(explainPoisonedCall(verifierLog.replace('2: (85)', '4: (85)'), report)).toBeUndefined();
    expect(
      explainPoisonedCall(
        verifierLog,
        report.filter((r) => r.status !== 'poisoned'),
      ),
    ).toBeUndefined();
    expect(explainPoisonedCall(undefined as never, report)).toBeUndefined();
    expect(explainPoisonedCall(verifierLog, null as never)).toBeUndefined();
  });
});
