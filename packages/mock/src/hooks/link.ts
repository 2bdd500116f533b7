// What an attach on the mock returns: a Link over one attachment. BPF links
// (XDP links, tcx, perf event links, raw tracepoints, multi-probes) are
// objects of the mock kernel with an id and an fd; a pin on the virtual
// bpffs holds one, so a pinned link stays attached after its handle is
// closed, as on the kernel. Netlink XDP and classic tc attachments are not
// links: they have no id and no pin.
import { ClosedError, InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import type { AttachTarget, Link, LinkInfo, Program } from '@bpfkit/core';
import type { MockKernel, MockObject } from '../mock-kernel.js';
import type { MockProgramObject } from '../mock-program.js';

/**
 * One program on one hook, as the hook runs it.
 *
 * @example
 * declare const a: MockAttachment;
 * a.program.name; // the attached program
 */
export interface MockAttachment {
  /** Attach order across the whole system: hooks run their programs in it. */
  readonly seq: number;
  readonly target: AttachTarget;
  /** The attached program (replaced by `link.update`). */
  program: MockProgramObject;
  /** Whether it is still on its hook. */
  attached: boolean;
}

/**
 * What a {@link MockLink} needs from the hook it is on.
 *
 * @example
 * declare const kernel: MockKernel;
 * const host: MockLinkHost = { kernel, kind: 'raw_tracepoint', isLink: true, detach: () => {}, update: () => {} };
 */
export interface MockLinkHost {
  readonly kernel: MockKernel;
  /** The link kind `info()` reports (`'xdp'`, `'tcx'`, `'perf_event'`, `'tc'`…). */
  readonly kind: string;
  /** Whether this attachment is a BPF link (id, fd, pin). */
  readonly isLink: boolean;
  /** Takes the attachment off its hook. */
  detach(attachment: MockAttachment): void;
  /** Replaces the program (checked like an attach), or throws why it cannot. */
  update(attachment: MockAttachment, program: Program): void;
}

/** The kernel object of a mock BPF link: references are its fd and its pin; the last one gone detaches it. */
class MockLinkObject implements MockObject {
  readonly kind = 'link' as const;
  readonly id: number;
  #refs = 0;

  constructor(
    kernel: MockKernel,
    private readonly onLast: () => void,
  ) {
    this.id = kernel.nextId('link');
  }

  retain(): void {
    this.#refs++;
  }

  release(): void {
    if (--this.#refs === 0) this.onLast();
  }
}

/**
 * A program attached to a hook of a {@link MockSystem}: `close()` (or
 * `using`) detaches it unless a pin holds it; `detach()` takes it off the
 * hook whatever holds it. Closing the program does not detach it.
 *
 * @example
 * declare const system: MockSystem, prog: MockProgram;
 * const eth0 = system.addInterface('eth0');
 * using link = prog.attach({ kind: 'xdp', interface: 'eth0' });
 * link.info().kind; // 'xdp'
 */
export class MockLink implements Link {
  readonly target: AttachTarget;
  /** The link's fd in the mock's fd table (-1 for attachments that are not BPF links). */
  readonly fd: number;
  readonly #host: MockLinkHost;
  readonly #attachment: MockAttachment;
  readonly #object: MockLinkObject | undefined;
  #closed = false;
  #pinned: string | undefined;

  constructor(host: MockLinkHost, attachment: MockAttachment) {
    this.#host = host;
    this.#attachment = attachment;
    this.target = attachment.target;
    attachment.program.retain();
    if (host.isLink) {
      this.#object = new MockLinkObject(host.kernel, () => this.#takeOff());
      this.fd = host.kernel.openFd(this.#object);
    } else {
      this.fd = -1;
    }
  }

  /**
   * The attachment this link holds.
   *
   * @example
   * declare const link: MockLink;
   * link.attachment.attached; // false once detached
   */
  get attachment(): MockAttachment {
    return this.#attachment;
  }

  /**
   * Whether the handle is closed.
   *
   * @example
   * declare const link: MockLink;
   * link.closed; // false until close()
   */
  get closed(): boolean {
    return this.#closed;
  }

  #label(): string {
    return `${this.#host.kind} link of program '${this.#attachment.program.name}'`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(this.#label());
  }

  #takeOff(): void {
    const a = this.#attachment;
    if (!a.attached) return;
    a.attached = false;
    this.#host.detach(a);
    a.program.release();
  }

  /**
   * What the link is: its kind, its id (BPF links only) and the attached program's id.
   *
   * @example
   * declare const link: MockLink;
   * link.info().progId;
   */
  info(): LinkInfo {
    this.#assertOpen();
    return {
      kind: this.#host.kind,
      ...(this.#object ? { id: this.#object.id } : {}),
      progId: this.#attachment.program.id,
    };
  }

  /**
   * Replaces the attached program where the kernel allows it (XDP, tc,
   * tcx); a program of the wrong type is refused like an attach.
   *
   * @example
   * declare const link: MockLink, next: MockProgram;
   * link.update(next);
   */
  update(program: Program): void {
    this.#assertOpen();
    if (!this.#attachment.attached) {
      throw new InvalidArgumentError(`${this.#label()}: update`, 'a link still attached', 'a detached link');
    }
    this.#host.update(this.#attachment, program);
  }

  /**
   * Pins the link on the mock's virtual bpffs: the pin keeps it attached
   * after the handle is closed. Attachments that are not BPF links
   * (netlink XDP, classic tc) cannot be pinned (NotSupportedError).
   *
   * @example
   * declare const link: MockLink;
   * link.pin('/sys/fs/bpf/my_link');
   */
  pin(path: string): void {
    this.#assertOpen();
    if (!this.#object) {
      throw new NotSupportedError(
        `pinning a ${this.#host.kind} attachment`,
        undefined,
        `${this.#label()} is not a BPF link, so it has no pin`,
      );
    }
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
    this.#host.kernel.pin(path, this.#object, `${this.#label()} (mock)`);
    this.#pinned = path;
  }

  /**
   * Removes the pin {@link pin} made (a link whose handle is closed then detaches).
   *
   * @example
   * declare const link: MockLink;
   * link.unpin();
   */
  unpin(): void {
    this.#assertOpen();
    if (this.#pinned === undefined) {
      throw new InvalidArgumentError(`${this.#label()}: unpin`, 'a link pinned with pin()', 'a link that is not pinned');
    }
    const path = this.#pinned;
    this.#pinned = undefined;
    this.#host.kernel.unpin(path, `${this.#label()} (mock)`);
  }

  /**
   * Takes the program off the hook now, pinned or not (BPF_LINK_DETACH);
   * the handle stays open until closed.
   *
   * @example
   * declare const link: MockLink;
   * link.detach();
   */
  detach(): void {
    this.#assertOpen();
    this.#takeOff();
  }

  /**
   * Closes the handle: the program leaves the hook unless a pin holds the link.
   *
   * @example
   * declare const link: MockLink;
   * link.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#object) this.#host.kernel.closeFd(this.fd);
    else this.#takeOff();
  }

  /**
   * Detaches and closes, whatever holds the link (a pin too): what the system's close does.
   *
   * @example
   * declare const link: MockLink;
   * link.shutdown();
   */
  shutdown(): void {
    this.#takeOff();
    this.#closed = true;
    if (this.#object) this.#host.kernel.closeFd(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
