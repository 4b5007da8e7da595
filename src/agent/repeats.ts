/**
 * Verdicts reused for repeated opens.
 *
 * A thread that opens the same file again and again (a poller, a server serving one file, an
 * open/close storm) sends the agent the same event each time: same syscall, same parameters. When
 * nothing else happened in between, the state engine is left as it was, and the rules read only
 * fields fixed by the parameters, the thread and the state (not the event's time, number or CPU),
 * or their conditions on such fields alone ruled them out (`Engine.verdictRepeats`), the rules must
 * give the same answer as for the previous event. Then the agent counts the event as evaluated
 * without evaluating it again.
 *
 * The conditions, all checked for every event:
 *   - the event is the exit of an open-family syscall (open, openat, openat2, creat): a repeat of
 *     one only replaces an fd entry with an equal one;
 *   - it has the previous event's thread, type and parameter bytes (lengths and data, byte for
 *     byte), and the state engine's version did not move between the two (no other event, no
 *     bootstrap or container metadata in between);
 *   - the previous event was itself such a repeat of the one before it. The first repeat is
 *     evaluated in full: its state differs from the first open's in what the open replaced (the fd
 *     number may have named another file before), which fields such as `fd.name_changed` read.
 *     From the second repeat on, every event meets the state the one before met;
 *   - no rule matched the previous event, its container (if any) had its metadata, and
 *     `Engine.verdictRepeats` held for it: a match is always evaluated and reported in full, an
 *     unresolved container is looked up again, and a rule whose answer hung on a time-dependent
 *     field is asked again.
 * The rule set is part of the condition: a reload starts over.
 */
import type { Engine } from '../engine/engine.js';
import type { SyscallEvent } from '../engine/event.js';
import type { RawEbpfEvent } from '../capture/sources/ebpf/parse.js';

/** Open-family exit events: their repeat replaces an fd entry with an equal one. */
const OPEN_FAMILY: ReadonlySet<string> = new Set(['open', 'openat', 'openat2', 'creat']);

export class RepeatedOpens {
  private engine: Engine | undefined = undefined;
  private tid = -1;
  private type = -1;
  private nparams = -1;
  /** The state engine's version right after the last event was handled. */
  private version = -1;
  private bytes = new Uint8Array(512);
  private len = 0;
  /** The last event repeated the one before it (checked by `reuse`, kept by `record`). */
  private same = false;
  /** The last event was a repeat of a repeat. */
  private streak = false;
  /** No rule matched the last event and its container was resolved. */
  private clean = false;
  /** Events reused since the last evaluated one: 1 right after the first reuse of a run. */
  run = 0;

  /**
   * Call after the state engine processed `raw` into `ev`, with its version before and after.
   * Answers true when `ev` can be counted as evaluated without evaluating it: no rule matches it.
   * When it answers false, evaluate the event and then call {@link record}.
   */
  reuse(raw: RawEbpfEvent, ev: SyscallEvent, engine: Engine, before: number, after: number): boolean {
    this.same =
      ev.dir === '<' &&
      engine === this.engine &&
      raw.tid === this.tid &&
      raw.type === this.type &&
      raw.nparams === this.nparams &&
      before === this.version &&
      this.sameBytes(raw);
    if (!this.same || !this.streak || !this.clean) return false;
    this.version = after;
    this.run++;
    return true;
  }

  /**
   * Call after evaluating an event `reuse` declined: `matched` is whether any rule matched it,
   * `after` the state engine's version now (container metadata may have been added meanwhile).
   */
  record(raw: RawEbpfEvent, ev: SyscallEvent, engine: Engine, after: number, matched: boolean): void {
    this.run = 0;
    if (ev.dir !== '<' || !OPEN_FAMILY.has(ev.type)) {
      this.tid = -1;
      return;
    }
    this.streak = this.same;
    this.clean =
      !matched &&
      (ev.container === undefined || ev.container.name !== undefined) &&
      engine.verdictRepeats(ev);
    this.engine = engine;
    this.tid = raw.tid;
    this.type = raw.type;
    this.nparams = raw.nparams;
    this.version = after;
    const n = raw.end - raw.lensAt;
    if (n > this.bytes.length) this.bytes = new Uint8Array(Math.max(n, 2 * this.bytes.length));
    // A plain view, as RawEbpfEvent.param makes them (a Buffer's subarray is slower to build).
    this.bytes.set(new Uint8Array(raw.buf.buffer, raw.buf.byteOffset + raw.lensAt, n));
    this.len = n;
  }

  private sameBytes(raw: RawEbpfEvent): boolean {
    const n = this.len;
    if (raw.end - raw.lensAt !== n) return false;
    const b = raw.buf;
    const a = this.bytes;
    const o = raw.lensAt;
    // From the end: the parameters after the path (flags, mode, device, inode) differ first.
    for (let i = n - 1; i >= 0; i--) if (b[o + i] !== a[i]) return false;
    return true;
  }
}
