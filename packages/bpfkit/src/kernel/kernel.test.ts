import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseKernelRelease } from '@bpfkit/core';
import { BtfKind } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { kallsymsAddresses } from './kallsyms.js';
import { kernelBtfs, vmlinuxBtf } from './kernel-btf.js';
import { kernelConfig, kernelConfigSource, linuxKernelVersion } from '@bpfkit/syscalls';
import { whenFeature } from '@bpfkit/syscalls/testing';

describe('the running kernel', () => {
  it.skipIf(kernelConfigSource() === undefined)('reads the kernel config from /proc/config.gz or /boot', () => {
    const source = kernelConfigSource()!;
    const raw = fs.readFileSync(source);
    const text = source.endsWith('.gz') ? zlib.gunzipSync(raw).toString() : raw.toString();
    const config = kernelConfig();
    // Every CONFIG_ line is there with its text; "is not set" lines read as n.
    const set = text.split('\n').filter((l) => /^CONFIG_\w+=/.test(l));
    expect(set.length).toBeGreaterThan(100);
    for (const line of set) expect(config.get(line.slice(0, line.indexOf('=')))).toBe(line.slice(line.indexOf('=') + 1));
    const unset = /^# (CONFIG_\w+) is not set$/m.exec(text);
    if (unset) expect(config.get(unset[1]!)).toBe('n');
  });

  it("computes LINUX_KERNEL_VERSION from the release (or the distribution's real version)", () => {
    const v = linuxKernelVersion();
    const release = parseKernelRelease(os.release()).code;
    // Same major and minor as uname; Debian and Ubuntu may report a different sub-level.
    expect(v >> 8).toBe(release >> 8);
  });

  it('finds kernel symbols in kallsyms, and module symbols with their [module] suffix', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-kallsyms-'));
    try {
      const file = path.join(dir, 'kallsyms');
      fs.writeFileSync(
        file,
        'ffffffff81000000 T _stext\nffffffff814de1b0 T __x64_sys_bpf\n0000000000000000 t nf_hook\t[nf_tables]\nffffffffc0001000 t nf_hook2\t[nf_tables]\n',
      );
      const found = kallsymsAddresses(['__x64_sys_bpf', 'nf_hook2', 'absent'], file);
      expect(found).toEqual(
        new Map([
          ['__x64_sys_bpf', 0xffffffff814de1b0n],
          ['nf_hook2', 0xffffffffc0001000n],
        ]),
      );
      expect(kallsymsAddresses([], file).size).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
    expect(kallsymsAddresses(['__bpfkit_no_such_symbol__']).size).toBe(0);
  });

  whenFeature('kernel-btf').it('parses vmlinux BTF once and lists module BTF after it', () => {
    expect(vmlinuxBtf()).toBe(vmlinuxBtf());
    expect(vmlinuxBtf().find('task_struct', BtfKind.STRUCT)).toBeDefined();
    const all = kernelBtfs();
    expect(all[0]!.name).toBe('vmlinux');
    const modules = fs.readdirSync('/sys/kernel/btf').filter((n) => n !== 'vmlinux').length;
    expect(all.length).toBeLessThanOrEqual(modules + 1);
    for (const m of all.slice(1)) expect(m.btf.firstTypeId).toBe(vmlinuxBtf().types.length);
  });
});
