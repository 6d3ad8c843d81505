/**
 * The run queue and run registry: every block posted becomes a run with its own ordered event
 * log; runs execute one at a time in the order posted, independent of who is listening.
 * Event shapes are the SSE events of shared/notes/api.md.
 */
import { randomUUID } from 'node:crypto';
import type { ShellSession } from './session.js';

/** `queued {runId, position}`: waits behind `position` other runs (1 = next). */
export interface QueuedData { runId: string; position: number }
/** `start {runId, startedAt}`: epoch ms. */
export interface StartData { runId: string; startedAt: number }
/** `output {runId, text}`: terminal output, UTF-8, `\n` line ends; chunks are coalesced. */
export interface OutputData { runId: string; text: string }
/** `end {...}`: the block's exit status; `cancelled` when interrupted before it started. */
export interface EndData {
  runId: string;
  exitCode: number;
  durationMs: number;
  cwd: string;
  interrupted: boolean;
  sessionRestarted: boolean;
  cancelled?: boolean;
}
/** `error {runId, message}`: a server-side failure (not a failing command, which is an `end`). */
export interface ErrorData { runId: string; message: string }

/** One event of a run's log; `id` is the run's own sequence number, from 1. */
export type RunEvent =
  | { id: number; event: 'queued'; data: QueuedData }
  | { id: number; event: 'start'; data: StartData }
  | { id: number; event: 'output'; data: OutputData }
  | { id: number; event: 'end'; data: EndData }
  | { id: number; event: 'error'; data: ErrorData };

type EventInit = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'id'> : never) : never;

/** What a client posts to start a run (POST /api/runs). */
export interface RunRequest {
  code: string;
  /** Client-chosen id; posting an existing id attaches to that run instead of running twice. */
  runId?: string;
  /** 1-based first and last line of the block in the script, for line numbers and the page. */
  lineStart?: number;
  lineEnd?: number;
}

/** A run's summary, as GET /api/runs lists it. */
export interface RunSummary {
  runId: string;
  status: 'queued' | 'running' | 'done';
  code: string;
  lineStart?: number;
  lineEnd?: number;
  exitCode?: number;
  startedAt?: number;
  durationMs?: number;
  interrupted?: boolean;
}

/** Output is sent at most this often while a block prints (ms)... */
const OUTPUT_FLUSH_MS = 16;
/** ...or as soon as this much is pending (UTF-16 code units). */
const OUTPUT_FLUSH_CHARS = 64 * 1024;

/** One block's run: its request, state and event log. */
export class Run {
  status: RunSummary['status'] = 'queued';
  readonly events: RunEvent[] = [];
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private pending = '';
  private flushTimer: NodeJS.Timeout | undefined;
  private end: EndData | undefined;
  private startedAt: number | undefined;
  cancelRequested = false;

  constructor(
    readonly runId: string,
    readonly request: RunRequest,
  ) {}

  /** True once the run's `end` (or `error`) event is in the log. */
  get finished(): boolean {
    return this.status === 'done';
  }

  /** Appends an event to the log and hands it to every listener. */
  emit(init: EventInit): void {
    if (init.event !== 'output') this.flushOutput();
    const event = { id: this.events.length + 1, ...init } as RunEvent;
    this.events.push(event);
    if (event.event === 'start') {
      this.status = 'running';
      this.startedAt = event.data.startedAt;
    }
    if (event.event === 'end' || event.event === 'error') {
      this.status = 'done';
      if (event.event === 'end') this.end = event.data;
    }
    for (const listener of this.listeners) listener(event);
  }

  /** Buffers terminal output; it goes out as `output` events every {@link OUTPUT_FLUSH_MS}. */
  output(text: string): void {
    this.pending += text;
    if (this.pending.length >= OUTPUT_FLUSH_CHARS) this.flushOutput();
    else this.flushTimer ??= setTimeout(() => this.flushOutput(), OUTPUT_FLUSH_MS);
  }

  private flushOutput(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.emit({ event: 'output', data: { runId: this.runId, text } });
  }

  /**
   * Calls `listener` with every event after id `afterId` (0 = all), then with each new one.
   * Returns the function that stops listening.
   */
  subscribe(afterId: number, listener: (event: RunEvent) => void): () => void {
    for (const event of this.events.slice(Math.max(0, afterId))) listener(event);
    if (this.finished) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    };
  }
}

/** Options for {@link RunQueue}. */
export interface RunQueueOptions {
  /** Finished runs kept for GET /api/runs and replay; older ones are forgotten. Default 200. */
  maxRuns?: number;
}

/** Runs blocks in one session, one at a time, in the order they were submitted. */
export class RunQueue {
  private readonly runs = new Map<string, Run>();
  private readonly waiting: Run[] = [];
  private current: Run | undefined;
  private readonly maxRuns: number;

  constructor(
    private readonly session: ShellSession,
    options: RunQueueOptions = {},
  ) {
    this.maxRuns = options.maxRuns ?? 200;
  }

  /** Queues a block; with a known `runId`, returns that run without running anything again. */
  submit(request: RunRequest): Run {
    const known = request.runId !== undefined ? this.runs.get(request.runId) : undefined;
    if (known) return known;
    const run = new Run(request.runId ?? randomUUID(), request);
    this.runs.set(run.runId, run);
    this.forgetOldRuns();
    this.waiting.push(run);
    // The run in progress counts as one ahead of it.
    if (this.current) run.emit({ event: 'queued', data: { runId: run.runId, position: this.waiting.length } });
    void this.pump();
    return run;
  }

  /** The run with this id, if it is still kept. */
  get(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  /** All kept runs, oldest first. */
  list(): Run[] {
    return [...this.runs.values()];
  }

  /**
   * Interrupts a running run (Ctrl-C) or cancels a queued one.
   * Returns false when the run is unknown or already finished.
   */
  interrupt(runId: string): boolean {
    const run = this.runs.get(runId);
    if (!run || run.finished) return false;
    if (run === this.current) {
      this.session.interrupt();
      return true;
    }
    run.cancelRequested = true;
    return true;
  }

  /** Types `data` into the terminal of the run if it is the one running; false otherwise. */
  input(runId: string, data: string): boolean {
    return this.current?.runId === runId && this.current.status === 'running' && this.session.input(data);
  }

  private async pump(): Promise<void> {
    if (this.current) return;
    const run = this.waiting.shift();
    if (!run) return;
    this.current = run;
    try {
      await this.execute(run);
    } finally {
      this.current = undefined;
      void this.pump();
    }
  }

  private async execute(run: Run): Promise<void> {
    if (run.cancelRequested) {
      run.emit({
        event: 'end',
        data: { runId: run.runId, exitCode: 130, durationMs: 0, cwd: this.session.cwd, interrupted: true, sessionRestarted: false, cancelled: true },
      });
      return;
    }
    const startedAt = Date.now();
    const t0 = performance.now();
    run.emit({ event: 'start', data: { runId: run.runId, startedAt } });
    try {
      const result = await this.session.run(run.request.code, {
        lineStart: run.request.lineStart,
        onOutput: (text) => run.output(text),
      });
      run.emit({ event: 'end', data: { runId: run.runId, durationMs: Math.round(performance.now() - t0), ...result } });
    } catch (err) {
      run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
    }
  }

  private forgetOldRuns(): void {
    for (const [id, run] of this.runs) {
      if (this.runs.size <= this.maxRuns) break;
      if (run.finished) this.runs.delete(id);
    }
  }
}
