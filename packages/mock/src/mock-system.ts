import { BpfError, Errno, mapTypeFromName, mapTypeNames, NotSupportedError, parseKernelRelease, programTypeNames } from '@bpfkit/core';
import type { AttachTarget, EventReader, Features, Link, Map, MapCodecs, MapSpec, Program, ProgramSpec, System } from '@bpfkit/core';
import { MockKernel } from './mock-kernel.js';
import { MOCK_MAP_TYPES, MockMap, MockMapStore } from './mock-map.js';

/**
 * An in-memory {@link System}: the same interfaces as the kernel backend,
 * with the kernel's semantics and no kernel, so tests run anywhere.
 *
 * @example
 * import { MockSystem } from '@bpfkit/mock';
 * import { MapType, u32 } from '@bpfkit/core';
 * using system = new MockSystem();
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 16 }, { key: u32, value: u32 });
 * m.update(1, 2);
 */
export class MockSystem implements System {
  readonly kind = 'mock' as const;
  readonly kernel = new MockKernel();
  #features: Features | undefined;

  createMap(spec: MapSpec): Map;
  createMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V>;
  createMap<K, V>(spec: MapSpec, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    const store = new MockMapStore(this.kernel, spec);
    this.kernel.track(store);
    return new MockMap<K, V>(store, codecs);
  }

  /**
   * Opens a map pinned on this mock's virtual bpffs.
   *
   * @example
   * const again = system.openPinnedMap('/sys/fs/bpf/counts');
   */
  openPinnedMap(path: string): Map;
  openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V>): Map<K, V>;
  openPinnedMap<K, V>(path: string, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    const store = this.kernel.pins.get(path);
    if (!store) throw new BpfError(Errno.ENOENT, { syscall: 'bpf', command: 'BPF_OBJ_GET', subject: `pin '${path}' (mock)`, hint: 'nothing is pinned at this path' });
    return new MockMap<K, V>(store.retain(), codecs);
  }

  loadProgram(spec: ProgramSpec): Program {
    throw new NotSupportedError(`loading program '${spec.name}' on the mock backend`, undefined, 'the mock interpreter runs programs once it lands; use the kernel backend meanwhile');
  }

  attach(_program: Program, target: AttachTarget): Link {
    throw new NotSupportedError(`attaching to '${target.kind}' on the mock backend`, undefined, 'fake hooks arrive with the mock interpreter');
  }

  openRingBuffer(_map: Map<unknown, unknown>): EventReader {
    throw new NotSupportedError('ring buffer readers on the mock backend', undefined, 'they arrive with the mock interpreter');
  }

  openPerfEventArray(_map: Map<unknown, unknown>): EventReader {
    throw new NotSupportedError('perf event array readers on the mock backend', undefined, 'they arrive with the mock interpreter');
  }

  /** What the mock implements: the map types it stores, and no programs yet. */
  features(): Features {
    this.#features ??= {
      kernel: parseKernelRelease('0.0.0-mock'),
      btf: false,
      bpffs: '/sys/fs/bpf',
      mapTypes: Object.fromEntries(mapTypeNames.filter((n) => n !== 'unspec').map((n) => [n, MOCK_MAP_TYPES.has(mapTypeFromName(n)!)])),
      programTypes: Object.fromEntries(programTypeNames.filter((n) => n !== 'unspec').map((n) => [n, false])),
      programTypeRestrictions: {},
      linkTypes: {},
      helpers: {},
      batchOps: false,
      ringBuffer: false,
      kprobePmu: false,
      uprobePmu: false,
      capabilities: { root: false, CAP_BPF: true, CAP_PERFMON: true, CAP_SYS_ADMIN: true, CAP_NET_ADMIN: true, CAP_SYS_RESOURCE: true },
      memlockAccounting: false,
    };
    return this.#features;
  }

  /** Number of maps still alive (open handles or pins): lets tests check for leaks. */
  get liveObjects(): number {
    return this.kernel.live.size;
  }

  close(): void {
    for (const path of [...this.kernel.pins.keys()]) this.kernel.unpin(path);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
