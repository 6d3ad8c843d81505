/**
 * One block's run: its request, state, and bounded event log, with flow control towards the shell
 * when the clients reading it lag. Its events' shapes are in run-events.ts.
 */
import { ByteRing, type Slot } from './byte-ring.js';
import type { Masker } from './secrets.js';
import type { ResolvedFleet } from '../session/inventory.js';
import type { EndData, EventInit, FleetEndData, RunEvent, RunRequest, RunSummary } from './run-events.js';

export * from './run-events.js';

/** Output is sent at most this often while a block prints (ms)... */
const OUTPUT_FLUSH_MS = 16;
/** ...or as soon as this much is pending (UTF-16 code units). */
const OUTPUT_FLUSH_CHARS = 64 * 1024;
/** The shell is paused while a connected client is this many characters of output behind... */
const LAG_PAUSE_CHARS = 1024 * 1024;
/** ...and resumed once every client is within this many. */
const LAG_RESUME_CHARS = 256 * 1024;

/** Limits of one run's kept output (UTF-16 code units, ~bytes for ASCII). */
export interface OutputLimits {
  /** The first this-many characters are always kept. Default 1 MiB. */
  headChars: number;
  /** The last this-many characters are kept; output between head and tail is dropped. Default 4 MiB. */
  tailChars: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { headChars: 1024 * 1024, tailChars: 4 * 1024 * 1024 };

/** How a {@link Run} keeps its output. */
export interface RunOptions {
  /**
   * Keep the output's exact bytes beside its text (OutputData.bytes), for a reader that writes
   * them out byte for byte (`cmdrun run`); the kept output's bound counts the text as before.
   */
  keepBytes?: boolean;
}

/** Pausing and resuming the producer (the shell's PTY). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** A reader of the run's events, positioned after event `cursor`. */
export interface Consumer {
  /** The id of the last event handed to this consumer. */
  cursor: number;
  /** Output characters handed to this consumer so far (dropped ones count as handed). */
  delivered: number;
}

/** An output event past the head, as the log keeps it: its text is in the run's ByteRing. */
interface TailOutput {
  id: number;
  event: 'output';
  slot: Slot;
  chars: number;
  target?: string;
}

/** The text that stands for `bytes` of output dropped between a run's head and tail. */
export const omittedMark = (bytes: number): string => `\r\n\x1b[2m[… ${bytes} bytes of output omitted …]\x1b[0m\r\n`;

/** True for a run's last event: its `end` (not a fleet host's, which has a `target`) or `error`. */
export const isLastEvent = (event: RunEvent): boolean => event.event === 'error' || (event.event === 'end' && !('target' in event.data && event.data.target !== undefined));

/** Told every event of a run as it is appended (the history records runs this way). */
export type RunObserver = (event: RunEvent) => void;

/** One block's run: its request, state and event log. */
export class Run {
  status: RunSummary['status'] = 'queued';
  cancelRequested = false;
  /**
   * Kept events, in id order: every non-output event, and output up to the head and tail limits
   * (output past the head has its text in `tail`).
   */
  private readonly log: Array<RunEvent | TailOutput> = [];
  private readonly tail = new ByteRing();
  private lastId = 0;
  /** Output dropped between head and tail, through event `lastId`: its size in bytes and characters. */
  private gap: { lastId: number; bytes: number; chars: number } | undefined;
  /** The same by target (a fleet host's output; undefined: output without a target). */
  private readonly gapsByTarget = new Map<string | undefined, { bytes: number; chars: number }>();
  /** The id of each target's newest output event (undefined: output without a target). */
  private readonly lastOutputIds = new Map<string | undefined, number>();
  private keptChars = 0;
  /** Index in the log of the first event past the head (-1 until the head is full). */
  private headEnd = -1;
  private totalChars = 0;
  private pending = '';
  /** The bytes of `pending`, when the run keeps bytes. */
  private pendingBytes: Buffer[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private end: EndData | FleetEndData | undefined;
  private startedAt: number | undefined;
  private wake: Array<() => void> = [];
  private readonly consumers = new Set<Consumer>();
  private paused = false;
  /** The producer to pause while consumers lag; set while the run executes. */
  flow: FlowControl | undefined;
  private readonly observers: RunObserver[] = [];
  /** Masks known secrets in the output (secrets.ts) before it is kept or sent. */
  masker: Masker | undefined;
  /** A fleet run's hosts, once resolved (RunQueue). */
  fleet: ResolvedFleet | undefined;

  constructor(
    readonly runId: string,
    readonly request: RunRequest,
    private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS,
    private readonly options: RunOptions = {},
  ) {}

  /** True once the run's `end` (or `error`) event is in the log. */
  get finished(): boolean {
    return this.status === 'done';
  }

  /** The data of its `end` event, once it ended (a fleet run's own end has `hosts`). */
  get ended(): EndData | FleetEndData | undefined {
    return this.end;
  }

  /** Characters of output the run keeps (its head and tail; what it dropped between is not counted). */
  get keptOutputChars(): number {
    return this.keptChars + this.pending.length;
  }

  /** The id of the newest event. */
  get latestId(): number {
    return this.lastId;
  }

  /** Calls `observer` with every event appended from now on. */
  observe(observer: RunObserver): void {
    this.observers.push(observer);
  }

  /** Appends an event to the log and wakes every waiting reader (and the observers). */
  emit(init: EventInit): void {
    if (init.event !== 'output') this.flushOutput(true);
    const event = { id: ++this.lastId, ...init } as RunEvent;
    if (event.event === 'output' && this.headEnd >= 0) {
      const { text, bytes } = event.data;
      // With bytes kept, the ring holds them: the chunks end on characters, so they decode to the text.
      this.log.push({ id: event.id, event: 'output', slot: this.tail.push(bytes ?? text), chars: text.length, ...(event.data.target !== undefined ? { target: event.data.target } : {}) });
    } else {
      this.log.push(event);
    }
    if (event.event === 'output') {
      this.lastOutputIds.set(event.data.target, event.id);
      this.keepBounded(event.data.text.length);
      this.updateFlow(); // a reader stuck on a slow write lags further with every output event
    }
    if (event.event === 'start') {
      this.status = 'running';
      this.startedAt = event.data.startedAt;
    }
    if (isLastEvent(event)) {
      this.status = 'done';
      if (event.event === 'end') this.end = event.data;
      this.tail.compact();
      this.setPaused(false);
      this.flow = undefined;
    }
    for (const observer of this.observers) observer(event);
    for (const wake of this.wake.splice(0)) wake();
  }

  /** Drops the oldest output after the head while kept output exceeds head + tail. */
  private keepBounded(chars: number): void {
    this.totalChars += chars;
    this.keptChars += chars;
    if (this.headEnd < 0) {
      if (this.keptChars < this.limits.headChars) return;
      this.headEnd = this.log.length; // the head is every event so far
    }
    while (this.keptChars > this.limits.headChars + this.limits.tailChars) {
      // The oldest output past the head; non-output events there (waiting) are kept and skipped.
      let first = this.headEnd;
      while (first < this.log.length && this.log[first].event !== 'output') first++;
      if (first >= this.log.length - 1) return; // never drop the newest event
      // Output past the head is in the tail ring, oldest first, as it is dropped.
      const [dropped] = this.log.splice(first, 1) as [TailOutput];
      this.tail.shift();
      this.keptChars -= dropped.chars;
      this.gap ??= { lastId: dropped.id, bytes: 0, chars: 0 };
      this.gap.lastId = dropped.id;
      this.gap.bytes += dropped.slot.bytes;
      this.gap.chars += dropped.chars;
      const own = this.gapsByTarget.get(dropped.target) ?? { bytes: 0, chars: 0 };
      own.bytes += dropped.slot.bytes;
      own.chars += dropped.chars;
      this.gapsByTarget.set(dropped.target, own);
    }
  }

  /**
   * The kept output of host `target` of a fleet run (undefined: the output events without a
   * target, a single-target run's), as one text: its events' texts in order, with the
   * {@link omittedMark} where some of its output was dropped between the run's head and tail.
   * `lastId` is the newest event's id: every output event of `target` up to it is in `text`, none
   * after it. Output still buffered (not yet an event) is in neither.
   */
  outputOf(target: string | undefined): { text: string; lastId: number; omittedBytes: number } {
    const parts: string[] = [];
    const gap = this.gapsByTarget.get(target);
    let marked = !gap;
    for (const e of this.log) {
      if (e.event !== 'output') continue;
      if (!('slot' in e)) {
        if (e.data.target === target) parts.push(e.data.text);
        continue;
      }
      if (e.target !== target) continue;
      // Every dropped event came before the kept ones past the head.
      if (!marked) parts.push(omittedMark(gap!.bytes));
      marked = true;
      parts.push(this.tail.read(e.slot));
    }
    if (!marked) parts.push(omittedMark(gap!.bytes));
    return { text: parts.join(''), lastId: this.lastId, omittedBytes: gap?.bytes ?? 0 };
  }

  /**
   * Buffers terminal output; it goes out as `output` events every {@link OUTPUT_FLUSH_MS}. `bytes`
   * (kept with RunOptions.keepBytes; default: the text's UTF-8) are those `text` was decoded from.
   * With secrets known (masker), the masked text is kept, and its UTF-8 as the bytes.
   */
  output(text: string, bytes?: Buffer): void {
    if (this.masker?.active) {
      const masked = this.masker.push(text);
      this.pending += masked;
      if (this.options.keepBytes && masked) this.pendingBytes.push(Buffer.from(masked, 'utf8'));
    } else {
      this.pending += text;
      if (this.options.keepBytes) this.pendingBytes.push(bytes ?? Buffer.from(text, 'utf8'));
    }
    if (this.pending.length >= OUTPUT_FLUSH_CHARS) this.flushOutput();
    else this.flushTimer ??= setTimeout(() => this.flushOutput(), OUTPUT_FLUSH_MS);
  }

  /**
   * Sends buffered output now (before an event of another run that must come after it); with
   * `all`, also what the masker holds back (the output stops here: `end`, `waiting`).
   */
  flushOutput(all = false): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const held = all && this.masker ? this.masker.end() : '';
    if (held) {
      this.pending += held;
      if (this.options.keepBytes) this.pendingBytes.push(Buffer.from(held, 'utf8'));
    }
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    if (!this.options.keepBytes) {
      this.emit({ event: 'output', data: { runId: this.runId, text } });
      return;
    }
    const bytes = this.pendingBytes.length === 1 ? this.pendingBytes[0] : Buffer.concat(this.pendingBytes);
    this.pendingBytes = [];
    this.emit({ event: 'output', data: { runId: this.runId, text, bytes } });
  }

  /**
   * The kept events after id `afterId` (0 = from the first). When dropped output lies after
   * `afterId`, an `output` event saying how much was omitted stands in for it, with the id of the
   * last dropped event, so a reader that resumes after it continues where the log does.
   */
  eventsAfter(afterId: number): RunEvent[] {
    // The log is in id order: binary search for the first event after afterId.
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid].id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    const out = this.log.slice(lo).map((e): RunEvent => {
      if (!('slot' in e)) return e;
      const text = this.tail.read(e.slot);
      const target = e.target !== undefined ? { target: e.target } : {};
      return { id: e.id, event: 'output', data: { runId: this.runId, ...target, text, ...(this.options.keepBytes ? { bytes: Buffer.from(this.tail.view(e.slot)) } : {}) } };
    });
    const gap = this.gap;
    if (gap && afterId < gap.lastId) {
      const at = out.findIndex((e) => e.id > gap.lastId);
      out.splice(at < 0 ? out.length : at, 0, ...this.gapEvents());
    }
    return out;
  }

  /**
   * The `output` events that stand for the dropped output, all with the id of the last dropped
   * event: one mark of the bytes omitted (a single-target run's), or for a fleet run one per host
   * that lost output, naming it (`target`) with its own bytes, so a reader puts each mark in the
   * right host's output.
   */
  private gapEvents(): RunEvent[] {
    const { lastId, bytes } = this.gap!;
    const fleet = [...this.gapsByTarget.keys()].some((target) => target !== undefined);
    const marks: Array<[string | undefined, number]> = fleet ? [...this.gapsByTarget].map(([target, own]) => [target, own.bytes]) : [[undefined, bytes]];
    return marks.map(([target, omitted]) => {
      const text = omittedMark(omitted);
      return { id: lastId, event: 'output', data: { runId: this.runId, ...(target !== undefined ? { target } : {}), text, ...(this.options.keepBytes ? { bytes: Buffer.from(text, 'utf8') } : {}) } };
    });
  }

  /**
   * A stamp of the kept output of `target` (undefined: without a target): the id of its newest
   * output event and how much of its output was dropped. Its outputOf text changes only when this
   * does.
   */
  outputStamp(target: string | undefined): string {
    return `${this.lastOutputIds.get(target) ?? 0}:${this.gapsByTarget.get(target)?.chars ?? 0}`;
  }

  /** The data of a fleet run's hosts' own `end` events so far (those with a `target`), in order. */
  hostEndEvents(): Array<EndData & { target: string }> {
    const ends: Array<EndData & { target: string }> = [];
    for (const e of this.log) if (e.event === 'end' && 'data' in e && 'target' in e.data && e.data.target !== undefined) ends.push(e.data as EndData & { target: string });
    return ends;
  }

  /** Resolves at the next event (or at once if the run has finished). */
  changed(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => this.wake.push(resolve));
  }

  /**
   * The run's events after id `afterId`, then live ones as they come, until `end` or `error` (or
   * until `signal` aborts). The reader counts as connected while it iterates: when it lags more
   * than 1 MiB of output behind, the shell is paused until it catches up. An event counts as
   * handed over once the reader asks for the next one.
   */
  async *follow(afterId: number, signal?: AbortSignal): AsyncGenerator<RunEvent> {
    const consumer: Consumer = { cursor: afterId, delivered: this.charsThrough(afterId) };
    const detach = this.attach(consumer);
    const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
    try {
      for (;;) {
        const changed = this.changed();
        for (const event of this.eventsAfter(consumer.cursor)) {
          if (signal?.aborted) return;
          yield event;
          this.delivered(consumer, event);
          if (isLastEvent(event)) return;
        }
        if (signal?.aborted) return;
        // Events may have come while the last ones were handed over: the loop reads them next.
        if (this.finished && consumer.cursor >= this.lastId) return;
        await Promise.race([changed, aborted]);
      }
    } finally {
      detach();
    }
  }

  /**
   * The output characters of the events through id `afterId`: what a reader that resumes after it
   * has had (a reader counted from 0 would lag by all of it, and pause the shell for good). Output
   * dropped after `afterId` counts as not had: its omitted mark hands it over.
   */
  private charsThrough(afterId: number): number {
    let after = this.gap && afterId < this.gap.lastId ? this.gap.chars : 0;
    for (let i = this.log.length - 1; i >= 0 && this.log[i].id > afterId; i--) {
      const e = this.log[i];
      if ('slot' in e) after += e.chars;
      else if (e.event === 'output') after += e.data.text.length;
    }
    return this.totalChars - after;
  }

  /** Registers a connected reader; its lag (output not yet handed to it) may pause the shell. */
  private attach(consumer: Consumer): () => void {
    this.consumers.add(consumer);
    return () => {
      this.consumers.delete(consumer);
      this.updateFlow();
    };
  }

  /** Records that `event` was handed to `consumer`, and resumes the shell once readers caught up. */
  private delivered(consumer: Consumer, event: RunEvent): void {
    consumer.cursor = event.id;
    if (event.event === 'output') {
      consumer.delivered += this.gap && event.id === this.gap.lastId ? this.gap.chars : event.data.text.length;
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    let maxLag = 0;
    for (const c of this.consumers) maxLag = Math.max(maxLag, this.totalChars - c.delivered);
    if (maxLag > LAG_PAUSE_CHARS) this.setPaused(true);
    else if (maxLag <= LAG_RESUME_CHARS) this.setPaused(false);
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused || !this.flow) return;
    this.paused = paused;
    if (paused) this.flow.pause();
    else this.flow.resume();
  }

  summary(): RunSummary {
    return {
      runId: this.runId,
      status: this.status,
      code: this.request.code,
      lineStart: this.request.lineStart,
      lineEnd: this.request.lineEnd,
      exitCode: this.end?.exitCode,
      startedAt: this.startedAt,
      durationMs: this.end?.durationMs,
      interrupted: this.end?.interrupted,
      ...(this.request.on !== undefined ? { on: this.request.on } : {}),
    };
  }
}
