import { InvalidArgumentError, MapType, mapTypeName, ringBufferMaps } from '@bpfkit/core';
import type {
  AttachTarget,
  Codec,
  Collection,
  CollectionOptions,
  CollectionSpec,
  EventReader,
  Features,
  Link,
  Map,
  MapCodecs,
  MapInfo,
  MapSpec,
  OpenOrCreateOptions,
  PerfEventArrayOptions,
  Program,
  ProgramSpec,
  RingBufferOptions,
  System,
} from '@bpfkit/core';
import { createKernelMap, createPerCpuKernelMap, KernelMap, listMaps, openMapById, openOrCreateMap, openPinnedMap } from '@bpfkit/maps';
import { possibleCpus } from '@bpfkit/syscalls';
import { PerfEventArrayReader, RingBufferReader } from '@bpfkit/perf';
import { attachProgram, KernelProgram, loadKernelProgram } from '@bpfkit/attach';
import type { LoadProgramOptions } from '@bpfkit/attach';
import { probeFeatures } from '@bpfkit/syscalls';
import { raiseMemlockIfNeeded } from './rlimit.js';
import { loadCollection, loadCollectionAsync } from './collection.js';
import type { ObjectSpec } from '@bpfkit/elf';

/**
 * The kernel backend: maps from @bpfkit/maps, programs from @bpfkit/attach,
 * features probed on the running kernel.
 *
 * @example
 * using system = new NativeSystem();
 * using m = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }, { key: u32, value: u64 });
 */
export class NativeSystem implements System {
  readonly kind = 'kernel' as const;
  readonly #load: LoadProgramOptions;

  constructor(options: { load?: LoadProgramOptions } = {}) {
    this.#load = options.load ?? {};
    raiseMemlockIfNeeded();
  }

  createMap(spec: MapSpec): Map;
  createMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V>;
  createMap<K, V>(spec: MapSpec, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    return codecs ? createKernelMap(spec, codecs) : createKernelMap(spec);
  }

  createPerCpuMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V[]> {
    return createPerCpuKernelMap(spec, codecs);
  }

  openOrCreateMap<K, V>(spec: MapSpec, options: OpenOrCreateOptions, codecs?: MapCodecs<K, V>): Map<K, V> {
    return openOrCreateMap(spec, options, codecs);
  }

  openMapById<K = Uint8Array, V = Uint8Array>(id: number, codecs?: MapCodecs<K, V>): Map<K, V> {
    return openMapById(id, codecs);
  }

  listMaps(): MapInfo[] {
    return listMaps();
  }

  /** CPUs a per-CPU value has a slot for: /sys/devices/system/cpu/possible, read once. */
  get possibleCpus(): number {
    return possibleCpus();
  }

  openPinnedMap(path: string): Map;
  openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V>): Map<K, V>;
  openPinnedMap<K, V>(path: string, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    return codecs ? openPinnedMap(path, codecs) : openPinnedMap(path);
  }

  loadProgram(spec: ProgramSpec): Program {
    return loadKernelProgram(spec, this.#load);
  }

  /**
   * Loads a clang-compiled object on the kernel ({@link loadCollection}).
   *
   * @example
   * using coll = system.loadCollection('prog.bpf.o', { constants: { target_pid: 42 } });
   */
  loadCollection(object: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Collection {
    return loadCollection(this.#object(object), this.#options(options));
  }

  /**
   * {@link loadCollection} with each program's BPF_PROG_LOAD on the libuv
   * thread pool: the event loop keeps serving while the verifier runs.
   *
   * @example
   * using coll = await system.loadCollectionAsync('prog.bpf.o');
   */
  loadCollectionAsync(object: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Promise<Collection> {
    try {
      return loadCollectionAsync(this.#object(object), this.#options(options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #object(object: string | Uint8Array | CollectionSpec): string | Uint8Array | ObjectSpec {
    if (typeof object === 'object' && object !== null && !(object instanceof Uint8Array) && !('elf' in object)) {
      throw new InvalidArgumentError('object', 'a path, the bytes of a BPF object, or readObject() of one', object);
    }
    return object as string | Uint8Array | ObjectSpec;
  }

  #options(options: CollectionOptions): CollectionOptions {
    return { ...(Object.keys(this.#load).length ? { load: this.#load as CollectionOptions['load'] } : {}), ...options };
  }

  /**
   * Attaches a kernel program to a hook ({@link attachProgram}); a program
   * of this system's (a {@link KernelProgram}) records the link, so that
   * closing its collection detaches it. A program of another backend (the
   * mock's have no kernel fd) is refused.
   *
   * @example
   * using link = system.attach(prog, { kind: 'raw_tracepoint', name: 'sched_switch' });
   */
  attach(program: Program, target: AttachTarget): Link {
    if (program instanceof KernelProgram) return program.attach(target);
    if (program !== null && typeof program === 'object' && typeof program.fd === 'number' && program.fd < 0 && !program.closed) {
      throw new InvalidArgumentError(
        `attach: program '${String(program.name)}'`,
        'a kernel file descriptor (a program loaded by this system, or opened by id or pin; a mock program attaches only on the mock system)',
        program.fd,
      );
    }
    return attachProgram(program, target);
  }

  /**
   * Reads one BPF_MAP_TYPE_RINGBUF map, or several through one reader
   * ({@link RingBufferReader}); each record's source names its map.
   *
   * @throws InvalidArgumentError for a map of another type or backend, or a closed one
   * @example
   * using coll = system.loadCollection('prog.bpf.o');
   * using reader = system.openRingBuffer(coll.maps.events);
   * for await (const record of reader) console.log(record.byteLength);
   */
  openRingBuffer(map: Map<unknown, unknown> | readonly Map<unknown, unknown>[]): EventReader;
  openRingBuffer<T>(
    map: Map<unknown, unknown> | readonly Map<unknown, unknown>[],
    options: RingBufferOptions<T> & { codec: Codec<T> },
  ): EventReader<T>;
  openRingBuffer<T>(
    map: Map<unknown, unknown> | readonly Map<unknown, unknown>[],
    options: RingBufferOptions<T> = {},
  ): EventReader<T> | EventReader {
    const maps = ringBufferMaps(map);
    for (const m of maps) {
      if (m.type !== MapType.RINGBUF) {
        throw new InvalidArgumentError(
          `openRingBuffer: map '${m.name}'`,
          `a ringbuf map (BPF_MAP_TYPE_RINGBUF), not ${mapTypeName(m.type)}`,
          m.type,
        );
      }
      if (!(m instanceof KernelMap) || m.closed || m.fd < 0) {
        throw new InvalidArgumentError(
          `openRingBuffer: map '${m.name}'`,
          'an open kernel map (a mock map is read by the mock system)',
          m.closed ? 'a closed map' : m,
        );
      }
    }
    return RingBufferReader.open(
      maps.map((m) => ({ fd: m.fd, name: m.name })),
      options,
    );
  }

  /**
   * Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY ({@link PerfEventArrayReader}):
   * one BPF-output perf event and ring per online CPU, stored in the map.
   *
   * @throws InvalidArgumentError for a map of another type or backend, or one with fewer entries than possible CPUs
   * @example
   * using coll = system.loadCollection('prog.bpf.o');
   * using reader = system.openPerfEventArray(coll.maps.events, { pagesPerCpu: 16 });
   * for await (const record of reader) console.log(record.byteLength);
   */
  openPerfEventArray(map: Map<unknown, unknown>, options?: PerfEventArrayOptions): EventReader;
  openPerfEventArray<T>(map: Map<unknown, unknown>, options: PerfEventArrayOptions<T> & { codec: Codec<T> }): EventReader<T>;
  openPerfEventArray<T>(map: Map<unknown, unknown>, options: PerfEventArrayOptions<T> = {}): EventReader<T> | EventReader {
    if (map.type !== MapType.PERF_EVENT_ARRAY) {
      throw new InvalidArgumentError(
        `openPerfEventArray: map '${map.name}'`,
        `a perf_event_array map (BPF_MAP_TYPE_PERF_EVENT_ARRAY), not ${mapTypeName(map.type)}`,
        map.type,
      );
    }
    if (map.closed || typeof map.fd !== 'number' || map.fd < 0) {
      throw new InvalidArgumentError(
        `openPerfEventArray: map '${map.name}'`,
        'an open kernel map (a mock map is read by the mock system)',
        map.fd,
      );
    }
    return options.codec !== undefined
      ? PerfEventArrayReader.open({ fd: map.fd, name: map.name }, options as PerfEventArrayOptions<T> & { codec: Codec<T> })
      : PerfEventArrayReader.open({ fd: map.fd, name: map.name }, options as PerfEventArrayOptions);
  }

  features(): Features {
    return probeFeatures();
  }

  /** The kernel backend owns no objects itself: maps and programs are closed by their handles. */
  close(): void {}

  [Symbol.dispose](): void {
    this.close();
  }
}
