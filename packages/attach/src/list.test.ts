import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapType, ProgramType } from '@bpfkit/core';
import { mapCreate, mountPrivateBpffs, native, objPin } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { bootTimeMs, listPrograms, loadTimeToDate, openProgram, programInfo } from './list.js';
import { loadKernelProgram } from './program.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

const RET_42 = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 42; exit
const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('load time conversion (no kernel)', () => {
  it('reads boot time from /proc/uptime text and converts ns since boot to a date', () => {
    expect(bootTimeMs('100.50 300.00\n', 1_000_000)).toBe(899_500);
    expect(loadTimeToDate(2_500_000_000n, 1_000).getTime()).toBe(3_500);
    expect(loadTimeToDate(1_999_999n, 0).getTime()).toBe(1); // a Date keeps whole milliseconds
    expect(() => bootTimeMs('garbage')).toThrow(/uptime: expected the text of \/proc\/uptime/);
  });

  it('refuses references that are neither ids nor absolute paths before any call', () => {
    expect(() => programInfo('my_prog')).toThrow(
      /program: expected a program id \(digits\) or an absolute pin path, got the string "my_prog"/,
    );
    expect(() => programInfo(0)).toThrow(InvalidArgumentError);
    expect(() => openProgram(-3)).toThrow(/program id: expected a positive integer/);
  });
});

whenKernel().describe('listing programs on the kernel', () => {
  it('lists a fresh program with its info, leaking no fd, and forgets it once closed', () => {
    let id: number;
    {
      using prog = loadKernelProgram({ name: 'listed', type: ProgramType.SOCKET_FILTER, instructions: RET_42, license: 'GPL' });
      id = prog.info().id;
      const before = openFds();
      const all = listPrograms();
      expect(openFds()).toBe(before);
      const mine = all.find((p) => p.id === id);
      expect(mine).toMatchObject({
        id,
        name: 'listed',
        type: ProgramType.SOCKET_FILTER,
        mapIds: [],
        xlatedSize: 16,
        gplCompatible: true,
        createdByUid: process.getuid!(),
      });
      expect(mine!.tag).toBe(prog.info().tag);
      expect(mine!.verifiedInsns).toBe(2);
      expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
      // Loaded just now, on this machine's clock.
      expect(Math.abs(loadTimeToDate(mine!.loadTime).getTime() - Date.now())).toBeLessThan(60_000);
    }
    expect(listPrograms().some((p) => p.id === id)).toBe(false);
  });

  it('reads one program by id and by pin path, and refuses a pinned map or an unknown id', () => {
    using fsys = mountPrivateBpffs();
    using prog = loadKernelProgram({ name: 'by_ref', type: ProgramType.SOCKET_FILTER, instructions: RET_42, license: 'MIT' });
    const pin = path.join(fsys.dir, 'by_ref');
    prog.pin(pin);
    const id = prog.info().id;
    const before = openFds();
    expect(programInfo(id)).toMatchObject({ id, name: 'by_ref', gplCompatible: false });
    expect(programInfo(String(id)).id).toBe(id);
    expect(programInfo(pin).id).toBe(id);
    {
      using opened = openProgram(pin);
      expect(opened.testRun({ data: new Uint8Array(16) }).returnValue).toBe(42);
    }
    expect(openFds()).toBe(before);

    const mapFd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      objPin(path.join(fsys.dir, 'a_map'), mapFd);
    } finally {
      native.close(mapFd);
    }
    expect(() => programInfo(path.join(fsys.dir, 'a_map'))).toThrow(/is not a program but a BPF map/);
    expect(() => programInfo(path.join(fsys.dir, 'nothing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => programInfo(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(openFds()).toBe(before);
    prog.unpin();
  });
});
