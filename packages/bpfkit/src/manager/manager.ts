import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapType } from '@bpfkit/core';
import type { AttachTarget, Collection, EventReader, Link, Map, Program, System, XdpTarget } from '@bpfkit/core';
import { enableRunStats } from '@bpfkit/attach';
import type { RunStats } from '@bpfkit/attach';
import { readObject } from '@bpfkit/elf';
import { describeStep, describeTarget, ManagerStartError, ManagerStateError } from './errors.js';
import type { ManagerStep } from './errors.js';
import { MapRegistry, pinnedAt } from './map-registry.js';
import { formatPrometheus, metricFamilies, registerManagerMetrics } from './metrics.js';
import type { ManagerProgramStats, ManagerReaderStats, ManagerStats, MetricsRegistry } from './metrics.js';
import { PidFilter } from './pid-filter.js';
import type { ManagerReader, ManagerSpec } from './spec.js';

/**
 * Where a manager is in its lifecycle.
 *
 * @example
 * declare const manager: Manager;
 * const state: ManagerState = manager.state; // 'stopped' until start()
 */
export type ManagerState = ManagerStats['state'];

interface LoadedObject {
  name: string;
  collection: Collection;
  /** Pins this manager created (not found there before the load), removed on stop unless kept. */
  createdPins: { map: Map; path: string }[];
}

interface ManagedLink {
  name: string;
  object: string;
  program: string;
  target: AttachTarget;
  link: Link;
  pin: string | undefined;
  keepPin: boolean;
}

interface ManagedReader {
  name: string;
  object: string;
  map: string;
  kind: 'ringbuf' | 'perf';
  reader: EventReader<unknown>;
  abort: AbortController;
  done: Promise<void>;
  batches: number;
  handlerErrors: number;
}

/**
 * Options of {@link Manager.attach} and its conveniences.
 *
 * @example
 * declare const manager: Manager;
 * const options: ManagerAttachOptions = { object: 'tracer', pin: '/sys/fs/bpf/app/openat', keepPin: true };
 * manager.attachTracepoint('openat', 'on_openat', 'syscalls', 'sys_enter_openat', options);
 */
export interface ManagerAttachOptions {
  /** The object holding the program, when a name alone is ambiguous. */
  object?: string;
  /** Pins the link at this path. */
  pin?: string;
  /** Leaves the pinned link when the manager stops. */
  keepPin?: boolean;
}

/**
 * A link of the manager, as {@link Manager.links} lists it.
 *
 * @example
 * declare const manager: Manager;
 * const [first]: ManagerLinkListing[] = manager.links();
 */
export interface ManagerLinkListing {
  name: string;
  object: string;
  program: string;
  target: AttachTarget;
  /** `describeTarget(target)`: `tracepoint syscalls:sys_enter_openat`, `kretprobe do_unlinkat`… */
  attachPoint: string;
  /** The kernel's link id, when the attachment is a BPF link. */
  id: number | undefined;
  pin: string | undefined;
}

/**
 * A program of the manager with its attach points, as {@link Manager.programs} lists it.
 *
 * @example
 * declare const manager: Manager;
 * const unattached = manager.programs().filter((p: ManagerProgramListing) => p.links.length === 0);
 */
export interface ManagerProgramListing {
  object: string;
  name: string;
  type: number;
  id: number;
  links: { name: string; attachPoint: string; target: AttachTarget }[];
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Loads BPF objects, attaches their programs and reads their events as one
 * unit (Beyla's tracer manager): `start()` does it all in order and, on
 * the first failure, undoes what it did; `stop()` undoes everything in
 * reverse. While started, links can be added and removed by name, maps are
 * shared through a registry, a PID filter decides which processes the
 * programs report, and `stats()`/`metrics()` say what ran.
 *
 * @example
 * await using manager = new Manager({
 *   system,
 *   objects: { tracer: { object: 'tracer.bpf.o' } },
 *   attachments: [{ program: 'on_openat', target: { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } }],
 *   readers: [{ map: 'events', batchSize: 64, flushIntervalMs: 200, handler: (batch) => console.log(batch.length) }],
 *   pidFilter: { mode: 'allowlist', allow: [process.pid] },
 *   handleSignals: true,
 * });
 * await manager.start();
 * manager.attachTracepoint('getcwd', 'on_getcwd', 'syscalls', 'sys_enter_getcwd');
 * console.log(manager.metrics());
 */
export class Manager implements AsyncDisposable {
  readonly #spec: ManagerSpec;
  readonly #system: System;
  /** Maps by name: every object's maps (first come), and maps registered by hand. */
  readonly maps = new MapRegistry();
  #state: ManagerState = 'stopped';
  #objects: LoadedObject[] = [];
  readonly #links = new globalThis.Map<string, ManagedLink>();
  #readers: ManagedReader[] = [];
  #closers: { name: string; close: () => void | Promise<void> }[] = [];
  #runStats: RunStats | undefined;
  #pidFilter: PidFilter | undefined;
  #signalHandler: ((signal: NodeJS.Signals) => void) | undefined;
  #starting: { abort: AbortController; done: Promise<void> } | undefined;
  #stopping: Promise<void> | undefined;

  constructor(spec: ManagerSpec) {
    if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('Manager: spec', 'a ManagerSpec object', spec);
    if (typeof spec.system !== 'object' || spec.system === null || typeof spec.system.loadCollectionAsync !== 'function') {
      throw new InvalidArgumentError('Manager: spec.system', 'a System (openSystem(), NativeSystem or MockSystem)', spec.system);
    }
    if (typeof spec.objects !== 'object' || spec.objects === null || Object.keys(spec.objects).length === 0) {
      throw new InvalidArgumentError('Manager: spec.objects', 'at least one object, by name', spec.objects);
    }
    for (const [name, o] of Object.entries(spec.objects)) {
      if (typeof o?.object !== 'string' && !(o?.object instanceof Uint8Array)) {
        throw new InvalidArgumentError(`Manager: spec.objects.${name}.object`, 'a path or the bytes of a BPF object', o?.object);
      }
    }
    const names = new Set<string>();
    for (const a of spec.attachments ?? []) {
      if (typeof a?.program !== 'string' || typeof a.target !== 'object' || a.target === null) {
        throw new InvalidArgumentError('Manager: spec.attachments[]', '{ program: string, target: AttachTarget }', a);
      }
      if (a.name !== undefined) {
        if (names.has(a.name)) throw new InvalidArgumentError('Manager: spec.attachments[].name', 'names used once', a.name);
        names.add(a.name);
      }
    }
    for (const r of spec.readers ?? []) {
      if (typeof r?.map !== 'string' || typeof r.handler !== 'function') {
        throw new InvalidArgumentError('Manager: spec.readers[]', '{ map: string, handler(batch) }', r);
      }
    }
    this.#spec = spec;
    this.#system = spec.system;
  }

  /** `'stopped'`, `'starting'`, `'started'` or `'stopping'`. */
  get state(): ManagerState {
    return this.#state;
  }

  /** The backend the manager loads on. */
  get system(): System {
    return this.#system;
  }

  /** The PID filter, once started with `pidFilter` in the spec. */
  get pidFilter(): PidFilter | undefined {
    return this.#pidFilter;
  }

  /**
   * The collection of a loaded object.
   *
   * @example
   * declare const manager: Manager;
   * manager.collection('tracer').variables.passed!.get();
   */
  collection(object: string): Collection {
    const found = this.#objects.find((o) => o.name === object);
    if (!found) {
      throw new InvalidArgumentError(
        'collection: object',
        `a loaded object (${this.#objects.map((o) => o.name).join(', ') || 'none: the manager is stopped'})`,
        object,
      );
    }
    return found.collection;
  }

  /**
   * Loads every object, sets up the PID filter, attaches in order and opens
   * the readers. On the first failure (or when `signal` aborts) it undoes
   * every step already done and rejects: with a {@link ManagerStartError}
   * naming the step and carrying its error, or with the signal's reason.
   *
   * @example
   * declare const manager: Manager;
   * await manager.start(AbortSignal.timeout(10_000));
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'stopped') throw new ManagerStateError('start', ['stopped'], this.#state);
    signal?.throwIfAborted();
    this.#state = 'starting';
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = this.#start(abort.signal).finally(() => signal?.removeEventListener('abort', onAbort));
    this.#starting = { abort, done };
    try {
      await done;
    } finally {
      this.#starting = undefined;
    }
  }

  async #start(signal: AbortSignal): Promise<void> {
    const spec = this.#spec;
    let n = 0;
    const step = async (s: ManagerStep, f: () => void | Promise<void>) => {
      signal.throwIfAborted();
      n++;
      spec.onStep?.(s);
      try {
        await f();
      } catch (err) {
        throw new StepFailure(s, n, err);
      }
      signal.throwIfAborted();
    };
    try {
      if (spec.runStats) await step({ kind: 'run-stats' }, () => this.enableRunStats());
      const shared = new Set(spec.sharedMaps ?? []);
      if (spec.pidFilter) {
        shared.add(spec.pidFilter.map ?? 'pid_filter');
        shared.add(spec.pidFilter.namespacesMap ?? 'pid_namespaces');
      }
      for (const [name, o] of Object.entries(spec.objects)) {
        await step({ kind: 'load', object: name }, () => this.#load(name, o, shared));
      }
      if (spec.pidFilter) {
        const pf = spec.pidFilter;
        const mapName = pf.map ?? 'pid_filter';
        const nsName = pf.namespacesMap ?? 'pid_namespaces';
        const object = pf.object ?? this.#objects.find((o) => mapName in o.collection.maps)?.name ?? '(none)';
        await step({ kind: 'pid-filter', object, map: mapName }, () => {
          const coll = this.collection(object);
          const filterMap = coll.maps[mapName];
          const nsMap = coll.maps[nsName];
          if (!filterMap || !nsMap) {
            throw new InvalidArgumentError('pidFilter', `an object with maps '${mapName}' and '${nsName}'`, `object ${object}`);
          }
          const filter = new PidFilter(filterMap, nsMap, { mode: pf.mode });
          for (const p of pf.allow ?? []) filter.allow(p);
          for (const p of pf.block ?? []) filter.block(p);
          this.#pidFilter = filter;
        });
      }
      const counts = new globalThis.Map<string, number>();
      for (const a of spec.attachments ?? []) {
        let name = a.name;
        if (name === undefined) {
          const k = (counts.get(a.program) ?? 0) + 1;
          counts.set(a.program, k);
          name = k === 1 ? a.program : `${a.program}#${k}`;
        }
        const linkName = name;
        const { object, unresolved } = owner(() => a.object ?? this.#programOwner(a.program));
        await step({ kind: 'attach', name: linkName, object, program: a.program, target: a.target }, () => {
          if (unresolved) throw unresolved.error;
          this.#attach(linkName, a.program, a.target, {
            object,
            ...(a.pin !== undefined ? { pin: a.pin } : {}),
            keepPin: a.keepPin ?? false,
          });
        });
      }
      for (const r of spec.readers ?? []) {
        const { object, unresolved } = owner(() => r.object ?? this.#mapOwner(r.map));
        await step({ kind: 'reader', name: r.name ?? r.map, object, map: r.map }, () => {
          if (unresolved) throw unresolved.error;
          this.#openReader(r, object);
        });
      }
      if (spec.handleSignals) this.#installSignals();
      this.#state = 'started';
    } catch (err) {
      const rollbackErrors = await this.#teardown(undefined);
      this.#state = 'stopped';
      if (err instanceof StepFailure) {
        if (signal.aborted && isAbort(err.cause, signal)) throw signal.reason;
        throw new ManagerStartError(err.step, err.n, err.cause, rollbackErrors);
      }
      throw err;
    }
  }

  async #load(name: string, o: ManagerSpec['objects'][string], shared: ReadonlySet<string>): Promise<void> {
    const bytes = typeof o.object === 'string' ? fs.readFileSync(o.object) : o.object;
    const object = readObject(bytes);
    const replacements: Record<string, Map<unknown, unknown>> = { ...(o.options?.mapReplacements ?? {}) };
    const sharedHere: string[] = [];
    for (const mapName of Object.keys(object.maps)) {
      if (shared.has(mapName) && !(mapName in replacements) && this.maps.has(mapName)) {
        replacements[mapName] = this.maps.require(mapName);
        sharedHere.push(mapName);
      }
    }
    // Pins that exist before the load are not the manager's to remove.
    const pinPath = this.#spec.pinPath;
    const preexisting = new Set<string>();
    for (const [mapName, m] of Object.entries(object.maps)) {
      const candidates = [m.persistentPath, pinPath !== undefined ? path.join(pinPath, mapName) : undefined];
      for (const c of candidates) if (c !== undefined && this.#pinExists(c)) preexisting.add(c);
    }
    const collection = await this.#system.loadCollectionAsync(object, {
      ...o.options,
      ...(o.constants ? { constants: o.constants } : {}),
      ...(pinPath !== undefined ? { pinPath } : {}),
      mapReplacements: replacements,
    });
    const createdPins: { map: Map; path: string }[] = [];
    for (const [mapName, map] of Object.entries(collection.maps)) {
      const at = pinnedAt(map);
      if (at !== undefined && !preexisting.has(at) && !(mapName in replacements)) createdPins.push({ map, path: at });
    }
    this.#objects.push({ name, collection, createdPins });
    for (const mapName of sharedHere) this.maps.markShared(mapName, name);
    for (const [mapName, map] of Object.entries(collection.maps)) {
      if (collection.mapKinds[mapName] === 'map' && !this.maps.has(mapName)) this.maps.register(mapName, map, { owner: name });
    }
  }

  #pinExists(at: string): boolean {
    if (this.#system.kind === 'kernel') return fs.existsSync(at);
    try {
      this.#system.openPinnedMap(at).close();
      return true;
    } catch {
      return false;
    }
  }

  #programOwner(program: string): string {
    const owners = this.#objects.filter((o) => Object.hasOwn(o.collection.programs, program)).map((o) => o.name);
    if (owners.length === 1) return owners[0]!;
    const all = this.#objects.flatMap((o) => Object.keys(o.collection.programs).map((p) => `${o.name}/${p}`));
    throw new InvalidArgumentError(
      'program',
      owners.length
        ? `a program one object has (${owners.join(', ')} each have it: say which with object)`
        : `a program of the loaded objects (${all.join(', ')})`,
      program,
    );
  }

  #mapOwner(map: string): string {
    const owners = this.#objects.filter((o) => Object.hasOwn(o.collection.maps, map)).map((o) => o.name);
    if (owners.length >= 1) return owners[0]!;
    const all = this.#objects.flatMap((o) => Object.keys(o.collection.maps).map((m) => `${o.name}/${m}`));
    throw new InvalidArgumentError('map', `a map of the loaded objects (${all.join(', ')})`, map);
  }

  #program(object: string, program: string): Program {
    const coll = this.collection(object);
    const p = Object.hasOwn(coll.programs, program) ? coll.programs[program] : undefined;
    if (!p) {
      const refused = coll.programErrors[program];
      throw new InvalidArgumentError(
        'program',
        refused
          ? `a loaded program (${program} was refused: ${refused.message})`
          : `a program of object ${object} (${Object.keys(coll.programs).join(', ')})`,
        program,
      );
    }
    return p;
  }

  #attach(name: string, program: string | Program, target: AttachTarget, options: ManagerAttachOptions): Link {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('attach: name', 'a non-empty link name', name);
    if (this.#links.has(name))
      throw new InvalidArgumentError('attach: name', `a name not in use (links: ${[...this.#links.keys()].join(', ')})`, name);
    let prog: Program;
    let object: string;
    let programName: string;
    if (typeof program === 'string') {
      object = options.object ?? this.#programOwner(program);
      prog = this.#program(object, program);
      programName = program;
    } else {
      prog = program;
      programName = program.name;
      object = this.#objects.find((o) => Object.values(o.collection.programs).includes(program))?.name ?? '(outside the manager)';
    }
    const link = prog.attach(target);
    try {
      if (options.pin !== undefined) link.pin(options.pin);
    } catch (err) {
      link.close();
      throw err;
    }
    this.#links.set(name, { name, object, program: programName, target, link, pin: options.pin, keepPin: options.keepPin ?? false });
    return link;
  }

  #openReader(r: ManagerReader<unknown>, object: string): void {
    const name = r.name ?? r.map;
    if (this.#readers.some((x) => x.name === name)) throw new InvalidArgumentError('readers[].name', 'names used once', name);
    const coll = this.collection(object);
    const map = Object.hasOwn(coll.maps, r.map) ? coll.maps[r.map] : undefined;
    if (!map) throw new InvalidArgumentError('readers[].map', `a map of object ${object} (${Object.keys(coll.maps).join(', ')})`, r.map);
    let kind: 'ringbuf' | 'perf';
    let reader: EventReader<unknown>;
    if (map.type === MapType.RINGBUF) {
      kind = 'ringbuf';
      reader = r.codec ? this.#system.openRingBuffer(map, { codec: r.codec }) : this.#system.openRingBuffer(map);
    } else if (map.type === MapType.PERF_EVENT_ARRAY) {
      kind = 'perf';
      reader = r.codec
        ? this.#system.openPerfEventArray(map, { ...r.perf, codec: r.codec })
        : this.#system.openPerfEventArray(map, { ...r.perf });
    } else {
      throw new InvalidArgumentError(
        'readers[].map',
        'a ring buffer (BPF_MAP_TYPE_RINGBUF) or perf event array',
        `map '${r.map}' of type ${map.type}`,
      );
    }
    const abort = new AbortController();
    let batches: AsyncIterable<unknown[]>;
    try {
      batches = reader.batches({
        ...(r.batchSize !== undefined ? { size: r.batchSize } : {}),
        ...(r.flushIntervalMs !== undefined ? { flushIntervalMs: r.flushIntervalMs } : {}),
        ...(r.maxQueued !== undefined ? { maxQueued: r.maxQueued } : {}),
        signal: abort.signal,
      });
    } catch (err) {
      reader.close();
      throw err;
    }
    const onError =
      this.#spec.onError ?? ((err: Error, who: string) => process.stderr.write(`bpfkit Manager: reader '${who}': ${err.message}\n`));
    const entry: ManagedReader = { name, object, map: r.map, kind, reader, abort, done: Promise.resolve(), batches: 0, handlerErrors: 0 };
    entry.done = (async () => {
      for await (const batch of batches) {
        entry.batches++;
        try {
          await r.handler(batch, { reader: name });
        } catch (err) {
          entry.handlerErrors++;
          onError(err instanceof Error ? err : new Error(String(err)), name);
        }
      }
    })().catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err)), name));
    this.#readers.push(entry);
  }

  #installSignals(): void {
    if (this.#signalHandler) return;
    const handler = (signal: NodeJS.Signals) => {
      void this.stop()
        .catch((err: unknown) =>
          process.stderr.write(`bpfkit Manager: stopping on ${signal}: ${err instanceof Error ? err.message : String(err)}\n`),
        )
        .finally(() => {
          // Our handlers are gone: with nobody else listening, the signal takes its default course.
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
    };
    this.#signalHandler = handler;
    for (const s of SIGNALS) process.on(s, handler);
  }

  #removeSignals(): void {
    const handler = this.#signalHandler;
    if (!handler) return;
    for (const s of SIGNALS) process.off(s, handler);
    this.#signalHandler = undefined;
  }

  /**
   * Detaches every link in reverse order, drains and closes the readers,
   * runs the closers (last added first), switches run statistics off,
   * removes the pins it created (unless kept) and closes the objects. When
   * `signal` aborts, it stops waiting for reader handlers but still closes
   * everything. Rejects with the errors of steps that failed, after doing
   * all the others. A stop while starting makes the start roll back.
   *
   * @example
   * declare const manager: Manager;
   * await manager.stop();
   */
  async stop(signal?: AbortSignal): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#state === 'stopped') return;
    if (this.#starting) {
      const starting = this.#starting;
      starting.abort.abort(
        new DOMException('start: stop() was called before the start finished; every step done was undone', 'AbortError'),
      );
      await starting.done.catch(() => {});
      return;
    }
    this.#state = 'stopping';
    this.#stopping = (async () => {
      const errors = await this.#teardown(signal);
      this.#state = 'stopped';
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `stop: ${errors.length} steps failed`);
    })().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Releases everything the manager holds, in reverse order of acquisition; returns the errors. */
  async #teardown(signal: AbortSignal | undefined): Promise<Error[]> {
    const errors: Error[] = [];
    const attempt = async (f: () => void | Promise<void>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    };
    for (const l of [...this.#links.values()].reverse()) {
      await attempt(() => this.#release(l));
      this.#links.delete(l.name);
    }
    const readers = this.#readers;
    this.#readers = [];
    for (const r of readers) r.abort.abort();
    if (!signal?.aborted) {
      const all = Promise.all(readers.map((r) => r.done));
      await (signal
        ? Promise.race([all, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))])
        : all);
    }
    for (const r of readers.reverse()) await attempt(() => r.reader.close());
    const closers = this.#closers;
    this.#closers = [];
    for (const c of closers.reverse()) {
      await attempt(async () => {
        try {
          await c.close();
        } catch (err) {
          throw new Error(`closer '${c.name}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      });
    }
    this.#pidFilter = undefined;
    if (this.#runStats) await attempt(() => this.disableRunStats());
    const objects = this.#objects;
    this.#objects = [];
    for (const o of objects.reverse()) {
      if (!this.#spec.keepPins) {
        for (const p of o.createdPins) {
          await attempt(() => {
            if (!p.map.closed && pinnedAt(p.map) === p.path) p.map.unpin();
          });
        }
      }
      await attempt(() => o.collection.close());
    }
    await attempt(() => this.maps.close());
    this.#removeSignals();
    return errors;
  }

  #release(l: ManagedLink): void {
    if (l.pin !== undefined && l.keepPin) {
      l.link.close(); // the pin keeps it attached
      return;
    }
    if (l.pin !== undefined && !l.link.closed) l.link.unpin();
    l.link.close();
  }

  #assertRunning(operation: string): void {
    if (this.#state !== 'started' && this.#state !== 'starting')
      throw new ManagerStateError(operation, ['started', 'starting'], this.#state);
  }

  /**
   * Attaches a program (by name, or a Program of the manager's objects) to
   * any target under `name`; the link is detached on `detach(name)` or stop.
   *
   * @example
   * declare const manager: Manager;
   * manager.attach('exec', 'on_exec', { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' });
   */
  attach(name: string, program: string | Program, target: AttachTarget, options: ManagerAttachOptions = {}): Link {
    this.#assertRunning('attach');
    return this.#attach(name, program, target, options);
  }

  /**
   * Attaches a kprobe on kernel function `symbol`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachKprobe('unlink', 'on_unlink', 'do_unlinkat');
   */
  attachKprobe(
    name: string,
    program: string | Program,
    symbol: string,
    options: ManagerAttachOptions & { offset?: number; cookie?: bigint } = {},
  ): Link {
    const { offset, cookie, ...rest } = options;
    return this.attach(
      name,
      program,
      { kind: 'kprobe', symbol, ...(offset !== undefined ? { offset } : {}), ...(cookie !== undefined ? { cookie } : {}) },
      rest,
    );
  }

  /**
   * Attaches a kretprobe on the return of kernel function `symbol`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachKretprobe('unlink_ret', 'on_unlink_ret', 'do_unlinkat');
   */
  attachKretprobe(name: string, program: string | Program, symbol: string, options: ManagerAttachOptions & { cookie?: bigint } = {}): Link {
    const { cookie, ...rest } = options;
    return this.attach(name, program, { kind: 'kprobe', symbol, ret: true, ...(cookie !== undefined ? { cookie } : {}) }, rest);
  }

  /**
   * Attaches to tracepoint `group:event`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachTracepoint('openat', 'on_openat', 'syscalls', 'sys_enter_openat');
   */
  attachTracepoint(
    name: string,
    program: string | Program,
    group: string,
    event: string,
    options: ManagerAttachOptions & { cookie?: bigint } = {},
  ): Link {
    const { cookie, ...rest } = options;
    return this.attach(name, program, { kind: 'tracepoint', group, name: event, ...(cookie !== undefined ? { cookie } : {}) }, rest);
  }

  /**
   * Attaches to raw tracepoint `event`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachRawTracepoint('switch', 'on_switch', 'sched_switch');
   */
  attachRawTracepoint(name: string, program: string | Program, event: string, options: ManagerAttachOptions = {}): Link {
    return this.attach(name, program, { kind: 'raw_tracepoint', name: event }, options);
  }

  /**
   * Attaches a uprobe on a function (by symbol, or an offset in the file) of `binary`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachUprobe('malloc', 'on_malloc', '/usr/lib/x86_64-linux-gnu/libc.so.6', 'malloc', { pid: 1234 });
   */
  attachUprobe(
    name: string,
    program: string | Program,
    binary: string,
    at: string | number,
    options: ManagerAttachOptions & { pid?: number; cookie?: bigint } = {},
  ): Link {
    return this.attach(name, program, uprobeTarget(binary, at, false, options), withoutProbe(options));
  }

  /**
   * Attaches a uretprobe on the return of a function of `binary`.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachUretprobe('malloc_ret', 'on_malloc_ret', '/usr/lib/x86_64-linux-gnu/libc.so.6', 'malloc');
   */
  attachUretprobe(
    name: string,
    program: string | Program,
    binary: string,
    at: string | number,
    options: ManagerAttachOptions & { pid?: number; cookie?: bigint } = {},
  ): Link {
    return this.attach(name, program, uprobeTarget(binary, at, true, options), withoutProbe(options));
  }

  /**
   * Attaches an XDP program to an interface (by name or index; in network
   * namespace `netns`, a path such as `/run/netns/<name>`, when given).
   *
   * @example
   * declare const manager: Manager;
   * manager.attachXdp('drop', 'xdp_drop', 'veth0', { mode: 'generic' });
   */
  attachXdp(
    name: string,
    program: string | Program,
    iface: string | number,
    options: ManagerAttachOptions & { mode?: XdpTarget['mode']; netns?: string } = {},
  ): Link {
    const { mode, netns, ...rest } = options;
    return this.attach(
      name,
      program,
      { kind: 'xdp', interface: iface, ...(mode !== undefined ? { mode } : {}), ...(netns !== undefined ? { netns } : {}) },
      rest,
    );
  }

  /**
   * Attaches a TC program to an interface's ingress or egress: a tcx link
   * (`method: 'tcx'`, 6.6+) or a clsact filter (`'tc'`, the default); in
   * network namespace `netns` when given.
   *
   * @example
   * declare const manager: Manager;
   * manager.attachTc('ingress', 'tc_count', 'veth0', 'ingress', { method: 'tcx' });
   */
  attachTc(
    name: string,
    program: string | Program,
    iface: string | number,
    direction: 'ingress' | 'egress',
    options: ManagerAttachOptions & { method?: 'tc' | 'tcx'; netns?: string } = {},
  ): Link {
    const { method, netns, ...rest } = options;
    return this.attach(
      name,
      program,
      { kind: method ?? 'tc', interface: iface, direction, ...(netns !== undefined ? { netns } : {}) },
      rest,
    );
  }

  /**
   * Detaches the link `name`; false when there is none of that name. A link
   * pinned with `keepPin` stays attached through its pin.
   *
   * @example
   * declare const manager: Manager;
   * manager.detach('openat'); // true
   */
  detach(name: string): boolean {
    const l = this.#links.get(name);
    if (!l) return false;
    this.#links.delete(name);
    this.#release(l);
    return true;
  }

  /**
   * The links the manager holds, in the order they were attached.
   *
   * @example
   * declare const manager: Manager;
   * for (const l of manager.links()) console.log(l.name, l.attachPoint);
   */
  links(): ManagerLinkListing[] {
    return [...this.#links.values()].map((l) => {
      let id: number | undefined;
      try {
        id = l.link.info().id;
      } catch {
        id = undefined;
      }
      return {
        name: l.name,
        object: l.object,
        program: l.program,
        target: l.target,
        attachPoint: describeTarget(l.target),
        id,
        pin: l.pin,
      };
    });
  }

  /**
   * The loaded programs, each with the links that attach it.
   *
   * @example
   * declare const manager: Manager;
   * for (const p of manager.programs()) console.log(p.object, p.name, p.links.map((l) => l.attachPoint));
   */
  programs(): ManagerProgramListing[] {
    const out: ManagerProgramListing[] = [];
    for (const o of this.#objects) {
      for (const [name, prog] of Object.entries(o.collection.programs)) {
        const links = [...this.#links.values()]
          .filter((l) => l.object === o.name && l.program === name)
          .map((l) => ({ name: l.name, attachPoint: describeTarget(l.target), target: l.target }));
        out.push({ object: o.name, name, type: prog.type, id: prog.info().id, links });
      }
    }
    return out;
  }

  /**
   * Ties a resource to the manager's lifecycle: `close` runs on stop (or a
   * failed start's rollback), last added first, after links and readers.
   *
   * @example
   * declare const manager: Manager;
   * const timer = setInterval(() => {}, 1000);
   * manager.addCloser(() => clearInterval(timer), 'poll timer');
   */
  addCloser(close: () => void | Promise<void>, name = `closer ${this.#closers.length + 1}`): void {
    if (typeof close !== 'function') throw new InvalidArgumentError('addCloser: close', 'a function', close);
    this.#closers.push({ name, close });
  }

  /**
   * Switches the kernel's program run statistics on (BPF_ENABLE_STATS) until
   * {@link disableRunStats} or stop. On the mock it does nothing: the mock
   * does not count runs.
   *
   * @example
   * declare const manager: Manager;
   * manager.enableRunStats();
   */
  enableRunStats(): void {
    if (this.#runStats || this.#system.kind !== 'kernel') return;
    this.#runStats = enableRunStats();
  }

  /**
   * Switches run statistics off again (unless another holder, or the
   * sysctl kernel.bpf_stats_enabled, keeps them on).
   *
   * @example
   * declare const manager: Manager;
   * manager.disableRunStats();
   */
  disableRunStats(): void {
    const stats = this.#runStats;
    this.#runStats = undefined;
    stats?.close();
  }

  /**
   * Counts as plain numbers: objects, programs, maps, links and readers,
   * each program's runs and run time, each reader's records, bytes, lost
   * and dropped records.
   *
   * @example
   * declare const manager: Manager;
   * const { links, readerStats } = manager.stats();
   */
  stats(): ManagerStats {
    const programStats: ManagerProgramStats[] = [];
    for (const o of this.#objects) {
      for (const [name, prog] of Object.entries(o.collection.programs)) {
        if (prog.closed) continue;
        const info = prog.info();
        const links = [...this.#links.values()].filter((l) => l.object === o.name && l.program === name).map((l) => l.name);
        programStats.push({
          object: o.name,
          program: name,
          id: info.id,
          runCount: Number(info.runCount),
          runTimeNs: Number(info.runTimeNs),
          links,
        });
      }
    }
    const readerStats: ManagerReaderStats[] = this.#readers.map((r) => {
      const s = r.reader.stats();
      return {
        name: r.name,
        object: r.object,
        map: r.map,
        kind: r.kind,
        records: s.received,
        bytes: s.bytes,
        lost: s.lost,
        dropped: s.dropped,
        discarded: s.discarded,
        batches: r.batches,
        handlerErrors: r.handlerErrors,
      };
    });
    const runStats =
      this.#system.kind !== 'kernel'
        ? { enabled: false, reason: 'the mock backend does not count program runs: run counts and times are 0' }
        : this.#runStats
          ? { enabled: true }
          : {
              enabled: false,
              reason:
                'run statistics are off: ask with runStats: true or enableRunStats() (counts stay 0 unless kernel.bpf_stats_enabled is set)',
            };
    return {
      state: this.#state,
      objects: this.#objects.length,
      programs: programStats.length,
      maps: this.maps.size,
      links: this.#links.size,
      readers: this.#readers.length,
      runStats,
      programStats,
      readerStats,
    };
  }

  /**
   * {@link stats} in the Prometheus text exposition format, metric names
   * prefixed with `prefix` (default `bpfkit_`).
   *
   * @example
   * declare const manager: Manager;
   * import http from 'node:http';
   * http.createServer((_req, res) => res.end(manager.metrics())).listen(9400);
   */
  metrics(options: { prefix?: string } = {}): string {
    return formatPrometheus(metricFamilies(this.stats(), options.prefix));
  }

  /**
   * Registers the manager's metrics on a `prom-client`-like registry; returns a function that unregisters them.
   *
   * @example
   * declare const manager: Manager;
   * declare const registry: MetricsRegistry;
   * const unregister = manager.registerMetrics(registry);
   */
  registerMetrics(registry: MetricsRegistry, options: { prefix?: string } = {}): () => void {
    return registerManagerMetrics(registry, () => this.stats(), options);
  }

  /** Stops the manager (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Words for the step the manager would report: see {@link describeStep}. */
  static describeStep(step: ManagerStep): string {
    return describeStep(step);
  }
}

/** A step's failure inside #start, turned into a ManagerStartError after the rollback. */
class StepFailure extends Error {
  constructor(
    readonly step: ManagerStep,
    readonly n: number,
    override readonly cause: unknown,
  ) {
    super('step failed');
  }
}

/** The object a step's program or map belongs to, or the error that says why none does (thrown by the step, so that it fails as that step). */
function owner(resolve: () => string): { object: string; unresolved: { error: unknown } | undefined } {
  try {
    return { object: resolve(), unresolved: undefined };
  } catch (error) {
    return { object: '(none)', unresolved: { error } };
  }
}

function isAbort(cause: unknown, signal: AbortSignal): boolean {
  return cause === signal.reason || (cause instanceof Error && cause.name === 'AbortError');
}

function uprobeTarget(binary: string, at: string | number, ret: boolean, options: { pid?: number; cookie?: bigint }): AttachTarget {
  return {
    kind: 'uprobe',
    binary,
    ...(typeof at === 'number' ? { offset: at } : { symbol: at }),
    ...(ret ? { ret: true } : {}),
    ...(options.pid !== undefined ? { pid: options.pid } : {}),
    ...(options.cookie !== undefined ? { cookie: options.cookie } : {}),
  };
}

function withoutProbe(options: ManagerAttachOptions & { pid?: number; cookie?: bigint }): ManagerAttachOptions {
  const { pid: _pid, cookie: _cookie, ...rest } = options;
  return rest;
}
