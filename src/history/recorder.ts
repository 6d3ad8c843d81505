/**
 * Records runs into the history by observing their events (start, output, end), as the run queue
 * emits them: data flows run queue -> events -> history, and nothing upstream knows about it.
 *
 * Writes are batched: runs' rows, output and ends are written together every {@link FLUSH_MS}
 * while blocks run (1,000 quick blocks of Run all share a few transactions), so a `kill -9` loses
 * at most that last half second: of a running block's output, or a block that just started or ended. What is kept per run mirrors the
 * run's memory (src/runs/run.ts): whole output events up to the head limit, then the newest
 * events up to the tail limit, with the bytes dropped between them counted.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { ByteRing, type Slot } from '../runs/byte-ring.js';
import type { EndData, OutputLimits, Run, RunEvent } from '../runs/run.js';
import { isFleet } from '../session/fleet-spec.js';
import type { HistoryStore, OutputRow, RunMeta, RunOutcome } from './store.js';

/** Pending output is written this often while blocks print (ms). */
export const FLUSH_MS = 500;
/**
 * A run still going this long after its start is written at once (its row, unfinished), so a
 * `kill -9` soon after it started still finds it; quicker blocks end first and share a flush.
 */
export const STARTED_FLUSH_MS = 100;
/** Tail rows hold about this many bytes (whole output events; the tail is pruned a row at a time). */
const ROW_BYTES = 256 * 1024;
/** Default of {@link RecorderOptions.maxScriptChars}: 100 MiB. */
export const DEFAULT_HISTORY_MAX = 100 * 1024 * 1024;

/** What every run of a recorder shares. */
export interface RecorderContext {
  /** Absolute path of the script. */
  script: string;
  /** The session's shell (bash, zsh, …). */
  shell: string;
}

/** Options of {@link HistoryRecorder}. */
export interface RecorderOptions {
  /** Output kept per run, as the run queue keeps it in memory. */
  limits: OutputLimits;
  /** The script's history is pruned, oldest runs first, past this size (code + output, ~bytes). */
  maxScriptChars?: number;
  /** Called once with a message when the database cannot be written (the runs go on). */
  warn?: (message: string) => void;
}

/** A run being recorded (of a fleet run: one host of it). */
interface Recording {
  run: Run;
  /** What the run is; its row is written with its first output or its end (one transaction for a quick block). */
  meta: RunMeta;
  /** Its history id once its row is written. */
  id?: number;
  startedAt: number;
  /** Head characters still to come, and the head's output not yet written. */
  headLeft: number;
  head: string[];
  /**
   * The tail's output not yet written, as UTF-8 in a reused buffer (one slot an output event):
   * kept as strings, a fast block's output lived long enough to reach V8's old space.
   */
  tail: ByteRing;
  tailSlots: Slot[];
  pendingTailBytes: number;
  /** Output rows of the tail already written, oldest first. */
  tailRows: Array<{ id: number; bytes: number }>;
  storedTailBytes: number;
  outputBytes: number;
  omittedBytes: number;
  /** How it ended, once it did: written with the next flush. */
  outcome?: RunOutcome | { error: string; durationMs: number };
}

/** Writes the runs of one script to a {@link HistoryStore}. */
export class HistoryRecorder {
  /** Random id of this process's session: the page tells earlier sessions' runs by it. */
  readonly session = randomUUID();
  private readonly user: string;
  private readonly host = hostname();
  /** Runs being recorded: by run, or for a fleet run's hosts by `runId` NUL `target`. */
  private readonly recording = new Map<Run | string, Recording>();
  private timer: NodeJS.Timeout | undefined;
  private readonly limits: OutputLimits;
  private readonly maxScriptChars: number;
  /** The script's history size as last known (other processes may add to it). */
  private size: number | undefined;
  private warned = false;

  constructor(
    readonly store: HistoryStore,
    private readonly context: RecorderContext,
    private readonly options: RecorderOptions,
  ) {
    let user: string;
    try {
      user = userInfo().username;
    } catch {
      user = process.env.USER ?? String(process.getuid?.() ?? '');
    }
    this.user = user;
    this.maxScriptChars = options.maxScriptChars ?? DEFAULT_HISTORY_MAX;
    // The WAL between checkpoints need not be larger than the history it holds.
    this.guard(() => store.limitWal(this.maxScriptChars));
    // A run never holds more than the whole history may, so the newest run always fits.
    const { headChars, tailChars } = options.limits;
    const scale = Math.min(1, this.maxScriptChars / (headChars + tailChars));
    this.limits = { headChars: Math.floor(headChars * scale), tailChars: Math.floor(tailChars * scale) };
  }

  /** The script whose runs this recorder writes (absolute path). */
  get script(): string {
    return this.context.script;
  }

  /** Records `run` from its start on (a run cancelled before it started is not recorded). */
  track(run: Run): void {
    run.observe((event) => this.guard(() => this.observe(run, event)));
  }

  /** Runs a write; a failure is one warning, and the notebook goes on. */
  private guard(write: () => void): void {
    try {
      write();
    } catch (err) {
      if (this.warned) return;
      this.warned = true;
      this.options.warn?.(`cmdrun: history: could not write to ${this.store.path}: ${(err as Error).message}`);
    }
  }

  private observe(run: Run, event: RunEvent): void {
    // A fleet run is one row per host: its hosts' events carry their target, its own have none.
    const fleet = run.fleet?.on ?? (run.request.on !== undefined && isFleet(run.request.on) ? run.request.on : undefined);
    const target = 'target' in event.data ? event.data.target : undefined;
    if (fleet !== undefined && target === undefined) {
      if (event.event === 'error') {
        for (const rec of this.recording.values()) if (rec.run === run && !rec.outcome) rec.outcome = { error: event.data.message, durationMs: Date.now() - rec.startedAt };
        this.schedule();
      }
      return;
    }
    const key = fleet !== undefined ? `${run.runId}\0${target}` : run;
    // A fleet host interrupted before it started has an `end` only: it is a row all the same.
    const cancelledHost = fleet !== undefined && event.event === 'end' && 'cancelled' in event.data && event.data.cancelled === true;
    if (event.event === 'start' || cancelledHost) {
      const startedAt = event.event === 'start' ? event.data.startedAt : Date.now();
      this.begin(key, run, startedAt, event.event === 'start' ? (target ?? event.data.on) : target, fleet);
      if (event.event === 'start') return;
    }
    const rec = this.recording.get(key);
    if (!rec) return;
    if (event.event === 'output') {
      this.buffer(rec, event.data.text);
      this.schedule();
      return;
    }
    if (event.event === 'end' || event.event === 'error') {
      // Written with the next flush: quick blocks (Run all) share one transaction.
      rec.outcome = event.event === 'end' ? (event.data as EndData) : { error: event.data.message, durationMs: Date.now() - rec.startedAt };
      this.schedule();
    }
  }

  /**
   * Starts recording a run (of a fleet run: host `target` of `fleet`, with its place in fleet
   * order); its row is written with the next flush, or within STARTED_FLUSH_MS if it still runs.
   */
  private begin(key: Run | string, run: Run, startedAt: number, target: string | undefined, fleet: string | undefined): void {
    const { request } = run;
    const fleetIndex = fleet === undefined ? -1 : (run.fleet?.hosts.findIndex((h) => h.target === target) ?? -1);
    const meta: RunMeta = {
      runId: run.runId,
      script: this.context.script,
      code: request.code,
      title: request.title,
      lineStart: request.lineStart,
      lineEnd: request.lineEnd,
      user: this.user,
      host: this.host,
      shell: this.context.shell,
      session: this.session,
      startedAt,
      target,
      ...(fleet !== undefined ? { fleet } : {}),
      ...(fleetIndex >= 0 ? { fleetIndex } : {}),
    };
    this.recording.set(key, {
      run,
      meta,
      startedAt,
      headLeft: this.limits.headChars,
      head: [],
      tail: new ByteRing(),
      tailSlots: [],
      pendingTailBytes: 0,
      tailRows: [],
      storedTailBytes: 0,
      outputBytes: 0,
      omittedBytes: 0,
    });
    this.schedule();
    setTimeout(() => {
      const rec = this.recording.get(key);
      if (rec && rec.id === undefined && !rec.outcome) this.flushAll();
    }, STARTED_FLUSH_MS).unref();
  }

  /** A flush within FLUSH_MS, unless one is due already. */
  private schedule(): void {
    // Never what keeps a process alive: cmdrun's exits close the recorder, which flushes.
    this.timer ??= setTimeout(() => this.flushAll(), FLUSH_MS).unref();
  }

  /** Queues an output event's text: head while the head has room (whole events, as memory does), else tail. */
  private buffer(rec: Recording, text: string): void {
    if (rec.headLeft > 0) {
      rec.headLeft -= text.length;
      rec.head.push(text);
      return;
    }
    const slot = rec.tail.push(text);
    rec.tailSlots.push(slot);
    rec.pendingTailBytes += slot.bytes;
    // Pending tail past the limit would be deleted right after being written: drop it now.
    while (rec.pendingTailBytes > this.limits.tailChars && rec.tailSlots.length > 1) {
      const dropped = rec.tailSlots.shift()!;
      rec.tail.shift();
      rec.pendingTailBytes -= dropped.bytes;
      rec.omittedBytes += dropped.bytes;
    }
  }

  /**
   * Writes a run's row if it is not written yet, its pending output, and deletes tail rows that
   * fell out of its kept tail. Returns the run's history id.
   */
  private write(rec: Recording): number {
    const id = (rec.id ??= this.store.begin(rec.meta));
    if (rec.head.length === 0 && rec.tailSlots.length === 0) return id;
    const rows: Array<OutputRow & { bytes: number }> = [];
    if (rec.head.length) {
      const text = rec.head.join('');
      rows.push({ head: true, text, bytes: Buffer.byteLength(text) });
    }
    // Tail rows of up to about ROW_BYTES (whole events): slots that lie one after the other in
    // the ring are one view of it, written before the ring is reused, so nothing is copied here.
    let first: Slot | undefined;
    let bytes = 0;
    const close = () => {
      if (first) rows.push({ head: false, text: rec.tail.view({ at: first.at, bytes }), bytes });
      first = undefined;
      bytes = 0;
    };
    for (const slot of rec.tailSlots) {
      if (first && (bytes >= ROW_BYTES || first.at + bytes !== slot.at)) close();
      first ??= slot;
      bytes += slot.bytes;
    }
    close();
    for (let i = 0; i < rec.tailSlots.length; i++) rec.tail.shift();
    rec.head = [];
    rec.tailSlots = [];
    rec.pendingTailBytes = 0;

    const newTail = rows.filter((row) => !row.head);
    let tailBytes = rec.storedTailBytes + newTail.reduce((sum, row) => sum + row.bytes, 0);
    const drop: number[] = [];
    let omitted = rec.omittedBytes;
    // Written rows are dropped oldest first while the tail is over its limit.
    while (tailBytes > this.limits.tailChars && drop.length < rec.tailRows.length) {
      const row = rec.tailRows[drop.length];
      drop.push(row.id);
      tailBytes -= row.bytes;
      omitted += row.bytes;
    }
    const outputBytes = rec.outputBytes + rows.reduce((sum, row) => sum + row.bytes, 0) - (omitted - rec.omittedBytes);
    const ids = this.store.writeOutput(id, rows, drop, outputBytes, omitted);
    rec.tailRows.splice(0, drop.length);
    rows.forEach((row, n) => {
      if (!row.head) rec.tailRows.push({ id: ids[n], bytes: row.bytes });
    });
    rec.storedTailBytes = tailBytes;
    rec.outputBytes = outputBytes;
    rec.omittedBytes = omitted;
    return id;
  }

  /**
   * Writes what every run has pending, and how the finished ones ended, in one transaction; then
   * prunes the script's history if it grew past the maximum. A run whose end could not be
   * written is dropped all the same (after the one warning), so a broken database holds nothing.
   */
  flushAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const finished: Array<{ id: number; size: number }> = [];
    let written = false;
    this.guard(() => {
      this.store.atomically(() => {
        for (const rec of this.recording.values()) {
          const id = this.write(rec);
          if (!rec.outcome) continue;
          this.store.finish(id, rec.outcome);
          finished.push({ id, size: rec.meta.code.length + rec.outputBytes });
        }
      });
      written = true;
    });
    // A failed transaction was rolled back: the rows these runs think they have are gone, so they
    // are not recorded further (the next runs are tried again).
    for (const [key, rec] of this.recording) if (rec.outcome || !written) this.recording.delete(key);
    if (written && finished.length) this.guard(() => this.pruneIfNeeded(finished));
  }

  /**
   * Adds finished runs' sizes to the script's; past the maximum, prunes its oldest runs (never
   * the newest one just finished, nor runs still recording). Quick blocks finish many to a flush
   * (`cmdrun run`): the older of them are pruned like any earlier run.
   */
  private pruneIfNeeded(finished: Array<{ id: number; size: number }>): void {
    const added = finished.reduce((sum, run) => sum + run.size, 0);
    // Measured once (the database may hold earlier sessions' runs), then kept up to date here.
    this.size = this.size === undefined ? this.store.size(this.context.script) : this.size + added;
    if (this.size <= this.maxScriptChars) return;
    const recording = [...this.recording.values()].flatMap((rec) => (rec.id === undefined ? [] : [rec.id]));
    const newest = Math.max(...finished.map((run) => run.id));
    this.size = this.store.prune(this.context.script, this.maxScriptChars, new Set([newest, ...recording]));
  }

  /** Writes what is pending and closes the database; runs still going stay unfinished in it. */
  close(): void {
    this.flushAll();
    this.store.close();
  }
}
