/**
 * The run queue and run registry: every block posted becomes a run with its own event log; runs
 * execute one at a time in the order posted, independent of who is listening.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_OUTPUT_LIMITS, Run, type OutputLimits, type RunRequest } from './run.js';
import { SessionPool } from '../session/pool.js';
import type { ShellSession } from '../session/session.js';
import type { Secrets } from './secrets.js';

/** Options for {@link RunQueue}. */
export interface RunQueueOptions {
  /** Finished runs kept for GET /api/runs and replay; older ones are forgotten. Default 200. */
  maxRuns?: number;
  /** Output kept per run (head + tail); default {@link DEFAULT_OUTPUT_LIMITS}. */
  outputLimits?: OutputLimits;
  /** Called with every new run as it is queued, before any of its events (the history observes runs). */
  onRun?: (run: Run) => void;
  /**
   * Loads the parser that finds a block's `return`s outside any function (Splitters.topLevelReturns;
   * see RunOptions.topLevelReturns); called only for code that has the word `return` in it.
   */
  topLevelReturns?: () => Promise<(code: string) => number[]>;
  /** Secret values masked in every run's output and the background output (secrets.ts). */
  secrets?: Secrets;
  /**
   * Asks what a run needs before it starts (inputs.ts: prepareRun): returns the code to run, or
   * undefined to cancel the run (as an interrupt of a queued run does). `signal` aborts on interrupt.
   */
  prepare?: (run: Run, session: ShellSession, signal: AbortSignal) => Promise<string | undefined>;
  /** Runs (and the background output) keep their output's exact bytes (Run's RunOptions.keepBytes). */
  keepBytes?: boolean;
}

/**
 * Runs blocks one at a time, in the order they were submitted, each in the session of its target
 * (RunRequest.on; the pool's default when it names none).
 */
export class RunQueue {
  private readonly runs = new Map<string, Run>();
  private readonly waiting: Run[] = [];
  /** Batches with a failed run, newest last (the last 100). */
  private readonly failedBatches = new Set<string>();
  private current: Run | undefined;
  /** The session the current run runs in. */
  private currentSession: ShellSession | undefined;
  /** The notebook's sessions, by target. */
  readonly sessions: SessionPool;
  private readonly maxRuns: number;
  private readonly outputLimits: OutputLimits;
  /**
   * Output the shell printed while no block ran (background jobs), as the `output` events of one
   * run that never ends (GET /api/session/output). It keeps the last 256 KiB and never pauses the
   * shell: the blocks' own readers do that.
   */
  readonly background: Run;
  private readonly onRun: ((run: Run) => void) | undefined;
  private readonly keepBytes: boolean;
  private readonly topLevelReturns: RunQueueOptions['topLevelReturns'];
  private readonly options: RunQueueOptions;
  /** Aborted when the current run is interrupted while it is being prepared (RunQueueOptions.prepare). */
  private preparing: AbortController | undefined;

  /** @param sessions the notebook's sessions, or its one session. */
  constructor(sessions: SessionPool | ShellSession, options: RunQueueOptions = {}) {
    this.sessions = sessions instanceof SessionPool ? sessions : SessionPool.of(sessions);
    this.maxRuns = options.maxRuns ?? 200;
    this.outputLimits = options.outputLimits ?? DEFAULT_OUTPUT_LIMITS;
    this.keepBytes = options.keepBytes ?? false;
    this.background = new Run('background', { code: '' }, { headChars: 0, tailChars: 256 * 1024 }, { keepBytes: this.keepBytes });
    this.sessions.onBackground((text, _session, bytes) => this.background.output(text, bytes));
    this.onRun = options.onRun;
    this.topLevelReturns = options.topLevelReturns;
    this.options = options;
    this.background.masker = options.secrets?.masker();
  }

  /** Queues a block; with a known `runId`, returns that run without running anything again. */
  submit(request: RunRequest): Run {
    const known = request.runId !== undefined ? this.runs.get(request.runId) : undefined;
    if (known) return known;
    const run = new Run(request.runId ?? randomUUID(), request, this.outputLimits, { keepBytes: this.keepBytes });
    run.masker = this.options.secrets?.masker();
    this.runs.set(run.runId, run);
    this.onRun?.(run);
    this.forgetOldRuns();
    if (request.batch !== undefined && this.failedBatches.has(request.batch)) run.cancelRequested = true;
    this.waiting.push(run);
    // The run in progress counts as one ahead of it.
    if (this.current) run.emit({ event: 'queued', data: { runId: run.runId, position: this.waiting.length } });
    void this.pump();
    return run;
  }

  /**
   * Ends the background output log (its readers get what it holds, then `end`): for a session that
   * is closing, after its last block.
   */
  endBackground(): void {
    const { background } = this;
    if (background.finished) return;
    background.emit({
      event: 'end',
      data: { runId: background.runId, exitCode: 0, durationMs: 0, cwd: this.sessions.default.cwd, interrupted: false, sessionRestarted: false },
    });
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
    if (run === this.current && this.preparing) {
      this.preparing.abort();
      return true;
    }
    if (run === this.current) {
      // Not connected yet (a remote session's start): the run ends as soon as it would start.
      if (!this.currentSession?.interrupt()) run.cancelRequested = true;
      return true;
    }
    run.cancelRequested = true;
    return true;
  }

  /** Cancels every run still waiting its turn (restarting the shell drops them, as Jupyter does). */
  cancelQueued(): void {
    for (const run of this.waiting) run.cancelRequested = true;
  }

  /** Types `data` into the terminal of the run if it is the one running; false otherwise. */
  input(runId: string, data: string): boolean {
    return this.current?.runId === runId && this.current.status === 'running' && this.currentSession !== undefined && this.currentSession.input(data);
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
      this.currentSession = undefined;
      void this.pump();
    }
  }

  private async execute(run: Run): Promise<void> {
    let session: ShellSession;
    try {
      session = await this.sessions.get(run.request.on);
    } catch (err) {
      run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
      this.cancelBatch(run);
      return;
    }
    const cancel = () =>
      run.emit({
        event: 'end',
        data: { runId: run.runId, exitCode: 130, durationMs: 0, cwd: session.cwd, interrupted: true, sessionRestarted: false, cancelled: true },
      });
    if (run.cancelRequested) return cancel();
    let code = run.request.code;
    if (this.options.prepare) {
      this.preparing = new AbortController();
      try {
        const prepared = await this.options.prepare(run, session, this.preparing.signal);
        if (prepared === undefined || this.preparing.signal.aborted) {
          cancel();
          this.cancelBatch(run); // Run all stops at a cancelled question
          return;
        }
        code = prepared;
      } catch (err) {
        run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
        this.cancelBatch(run);
        return;
      } finally {
        this.preparing = undefined;
      }
    }
    this.currentSession = session;
    this.background.flushOutput(); // what the shell printed before this run is not this run's
    const startedAt = Date.now();
    const t0 = performance.now();
    run.emit({ event: 'start', data: { runId: run.runId, startedAt, on: session.target } });
    run.flow = session;
    try {
      const returns = this.topLevelReturns && !run.request.interpreter && code.includes('return') ? (await this.topLevelReturns())(code) : undefined;
      const result = await session.run(code, {
        topLevelReturns: returns,
        lineStart: run.request.lineStart,
        cols: run.request.cols,
        interpreter: run.request.interpreter,
        onOutput: (text, bytes) => run.output(text, bytes),
        onWaiting: () => run.emit({ event: 'waiting', data: { runId: run.runId } }),
      });
      run.emit({ event: 'end', data: { runId: run.runId, durationMs: Math.round(performance.now() - t0), ...result } });
      if (result.exitCode !== 0 || result.interrupted) this.cancelBatch(run);
    } catch (err) {
      run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
      this.cancelBatch(run);
    }
  }

  /**
   * Cancels the queued runs of a failed run's batch (RunRequest.batch), and the ones posted later
   * (a client posts a batch one run at a time, and a block can fail before the next is posted).
   */
  private cancelBatch(failed: Run): void {
    const { batch } = failed.request;
    if (batch === undefined) return;
    this.failedBatches.add(batch);
    if (this.failedBatches.size > 100) this.failedBatches.delete(this.failedBatches.values().next().value!);
    for (const run of this.waiting) if (run.request.batch === batch) run.cancelRequested = true;
  }

  private forgetOldRuns(): void {
    for (const [id, run] of this.runs) {
      if (this.runs.size <= this.maxRuns) break;
      if (run.finished) this.runs.delete(id);
    }
  }
}
