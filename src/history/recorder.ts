/**
 * Records runs into the history by observing their events (start, output, end), as the run queue
 * emits them: data flows run queue -> events -> history, and nothing upstream knows about it.
 *
 * Output is batched: written at most every {@link FLUSH_MS} per recorder and at a run's end, so a
 * `kill -9` loses at most that much of a running block's output. What is kept per run mirrors the
 * run's memory (src/runs/run.ts): whole output events up to the head limit, then the newest
 * events up to the tail limit, with the bytes dropped between them counted.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { OutputLimits, Run, RunEvent } from '../runs/run.js';
import type { HistoryStore, OutputRow } from './store.js';

/** Pending output is written this often while blocks print (ms). */
export const FLUSH_MS = 300;
/** Output rows hold at most about this many UTF-16 code units (the tail is pruned a row at a time). */
const ROW_CHARS = 256 * 1024;
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

/** A run being recorded. */
interface Recording {
  id: number;
  startedAt: number;
  headLeft: number;
  pending: OutputRow[];
  pendingTailChars: number;
  /** Output rows of the tail already written, oldest first. */
  tailRows: Array<{ id: number; chars: number; bytes: number }>;
  storedTailChars: number;
  outputChars: number;
  omittedBytes: number;
}

/** Joins consecutive pending texts of the same part (head or tail) into rows of ~ROW_CHARS. */
function rowsOf(pending: OutputRow[]): OutputRow[] {
  const rows: OutputRow[] = [];
  let texts: string[] = [];
  let chars = 0;
  let head = false;
  const close = () => {
    if (texts.length) rows.push({ head, text: texts.join('') });
    texts = [];
    chars = 0;
  };
  for (const row of pending) {
    if (texts.length && (row.head !== head || chars >= ROW_CHARS)) close();
    head = row.head;
    texts.push(row.text);
    chars += row.text.length;
  }
  close();
  return rows;
}

/** Writes the runs of one script to a {@link HistoryStore}. */
export class HistoryRecorder {
  /** Random id of this process's session: the page tells earlier sessions' runs by it. */
  readonly session = randomUUID();
  private readonly user: string;
  private readonly host = hostname();
  private readonly recording = new Map<Run, Recording>();
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
    if (event.event === 'start') {
      const { request } = run;
      const id = this.store.begin({
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
        startedAt: event.data.startedAt,
      });
      this.recording.set(run, {
        id,
        startedAt: event.data.startedAt,
        headLeft: this.limits.headChars,
        pending: [],
        pendingTailChars: 0,
        tailRows: [],
        storedTailChars: 0,
        outputChars: 0,
        omittedBytes: 0,
      });
      return;
    }
    const rec = this.recording.get(run);
    if (!rec) return;
    if (event.event === 'output') {
      this.buffer(rec, event.data.text);
      this.timer ??= setTimeout(() => this.flushAll(), FLUSH_MS);
      return;
    }
    if (event.event === 'end' || event.event === 'error') {
      this.recording.delete(run);
      this.flush(rec);
      if (event.event === 'end') this.store.finish(rec.id, event.data);
      else this.store.finish(rec.id, { error: event.data.message, durationMs: Date.now() - rec.startedAt });
      this.pruneIfNeeded(run.request.code.length + rec.outputChars, rec.id);
    }
  }

  /** Queues an output event's text: head while the head has room (whole events, as memory does), else tail. */
  private buffer(rec: Recording, text: string): void {
    if (rec.headLeft > 0) {
      rec.headLeft -= text.length;
      rec.pending.push({ head: true, text });
      return;
    }
    rec.pending.push({ head: false, text });
    rec.pendingTailChars += text.length;
    // Pending tail past the limit would be deleted right after being written: drop it now.
    while (rec.pendingTailChars > this.limits.tailChars) {
      const first = rec.pending.findIndex((row) => !row.head);
      if (first < 0 || first === rec.pending.length - 1) break; // never the newest
      const [dropped] = rec.pending.splice(first, 1);
      rec.pendingTailChars -= dropped.text.length;
      rec.omittedBytes += Buffer.byteLength(dropped.text);
    }
  }

  /** Writes a run's pending output, and deletes tail rows that fell out of its kept tail. */
  private flush(rec: Recording): void {
    if (rec.pending.length === 0) return;
    const rows = rowsOf(rec.pending);
    rec.pending = [];
    rec.pendingTailChars = 0;
    const newTail = rows.filter((row) => !row.head).map((row) => ({ chars: row.text.length, bytes: Buffer.byteLength(row.text) }));
    let tailChars = rec.storedTailChars + newTail.reduce((sum, row) => sum + row.chars, 0);
    const drop: number[] = [];
    let dropped = 0;
    let omitted = rec.omittedBytes;
    // Written rows are dropped oldest first while the tail is over its limit.
    while (tailChars > this.limits.tailChars && drop.length < rec.tailRows.length) {
      const row = rec.tailRows[drop.length];
      drop.push(row.id);
      tailChars -= row.chars;
      dropped += row.chars;
      omitted += row.bytes;
    }
    const outputChars = rec.outputChars + rows.reduce((sum, row) => sum + row.text.length, 0) - dropped;
    const ids = this.store.writeOutput(rec.id, rows, drop, outputChars, omitted);
    rec.tailRows.splice(0, drop.length);
    let i = 0;
    rows.forEach((row, n) => {
      if (!row.head) rec.tailRows.push({ id: ids[n], ...newTail[i++] });
    });
    rec.storedTailChars = tailChars;
    rec.outputChars = outputChars;
    rec.omittedBytes = omitted;
  }

  /** Writes every running block's pending output. */
  flushAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const rec of this.recording.values()) this.guard(() => this.flush(rec));
  }

  /**
   * Adds a finished run's size to the script's; past the maximum, prunes its oldest runs (never
   * `newest`, the run just finished, nor runs still recording).
   */
  private pruneIfNeeded(added: number, newest: number): void {
    // Measured once (the database may hold earlier sessions' runs), then kept up to date here.
    this.size = this.size === undefined ? this.store.size(this.context.script) : this.size + added;
    if (this.size <= this.maxScriptChars) return;
    const keep = new Set([newest, ...[...this.recording.values()].map((rec) => rec.id)]);
    this.size = this.store.prune(this.context.script, this.maxScriptChars, keep);
  }

  /** Writes what is pending and closes the database; runs still going stay unfinished in it. */
  close(): void {
    this.flushAll();
    this.store.close();
  }
}
