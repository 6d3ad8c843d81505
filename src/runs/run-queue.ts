/**
 * The run queue and run registry: every block posted becomes a run with its own event log; runs
 * execute one at a time in the order posted, independent of who is listening.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_OUTPUT_LIMITS, Run, type OutputLimits, type RunRequest } from './run.js';
import { SessionPool } from '../session/pool.js';
import type { ShellSession } from '../session/session.js';
import type { Secrets } from './secrets.js';
import { isFleet } from '../session/fleet-spec.js';
import { resolveFleet, type InventoryOptions, type ResolvedFleet } from '../session/inventory.js';
import { DEFAULT_FORKS, FleetExecution } from './fleet-run.js';
import { hostFailed } from './group-outputs.js';

/** What a fleet run needs before it starts (inputs.ts: prepareFleetRun): its code, and what each host's session gets first. */
export interface FleetPrepared {
  code: string;
  beforeHost?: (session: ShellSession) => Promise<void>;
}

/** A fleet run keeps this many times a run's output (head and tail), one share per host up to this many hosts. */
const FLEET_OUTPUT_SHARES = 20;

/** Default of {@link RunQueueOptions.maxKeptOutput}: 512 Mi characters (a fleet run keeps up to 100 Mi by default). */
export const DEFAULT_MAX_KEPT_OUTPUT = 512 * 1024 * 1024;

/** Options for {@link RunQueue}. */
export interface RunQueueOptions {
  /** Finished runs kept for GET /api/runs and replay; older ones are forgotten. Default 200. */
  maxRuns?: number;
  /** Output kept per run (head + tail); default {@link DEFAULT_OUTPUT_LIMITS}. */
  outputLimits?: OutputLimits;
  /**
   * Output kept by all runs together, in characters: past it, the oldest finished runs are
   * forgotten (the newest finished one stays), as past `maxRuns`. Default {@link DEFAULT_MAX_KEPT_OUTPUT}.
   */
  maxKeptOutput?: number;
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
  /** Hosts of a fleet run connecting or running at once, unless the run says (RunRequest.forks); default 20. */
  forks?: number;
  /** Where a fleet's `@GROUP`s are looked up (inventory.ts). */
  inventory?: InventoryOptions;
  /** Where runs that name no target run when that is a fleet (`--on @web`); a single default target is the pool's. */
  defaultFleet?: string;
  /**
   * Asks what a fleet run needs before it starts, once for all its hosts (RunQueueOptions.prepare's
   * fleet counterpart): undefined cancels the run.
   */
  prepareFleet?: (run: Run, signal: AbortSignal) => Promise<FleetPrepared | undefined>;
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
  private readonly maxKeptOutput: number;
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
  /** The current run's hosts, when it is a fleet run that started. */
  private fleet: FleetExecution | undefined;

  /** @param sessions the notebook's sessions, or its one session. */
  constructor(sessions: SessionPool | ShellSession, options: RunQueueOptions = {}) {
    this.sessions = sessions instanceof SessionPool ? sessions : SessionPool.of(sessions);
    this.maxRuns = options.maxRuns ?? 200;
    this.maxKeptOutput = options.maxKeptOutput ?? DEFAULT_MAX_KEPT_OUTPUT;
    this.outputLimits = options.outputLimits ?? DEFAULT_OUTPUT_LIMITS;
    this.keepBytes = options.keepBytes ?? false;
    this.background = new Run('background', { code: '' }, { headChars: 0, tailChars: 256 * 1024 }, { keepBytes: this.keepBytes });
    this.sessions.onBackground((text, _session, bytes) => this.background.output(text, bytes));
    this.onRun = options.onRun;
    this.topLevelReturns = options.topLevelReturns;
    this.options = options;
    this.background.masker = options.secrets?.masker();
  }

  /**
   * Queues a block; with a known `runId`, returns that run without running anything again. A
   * request whose `on` is a fleet runs on its hosts: `fleet` when the caller resolved it already
   * (the server does, to answer 400 for an unknown group), else resolved when the run's turn comes.
   */
  submit(request: RunRequest, fleet?: ResolvedFleet): Run {
    const known = request.runId !== undefined ? this.runs.get(request.runId) : undefined;
    if (known) return known;
    if (request.on === undefined && this.options.defaultFleet !== undefined) request = { ...request, on: this.options.defaultFleet };
    const onFleet = request.on !== undefined && isFleet(request.on);
    // A fleet run keeps a share of output per host (up to FLEET_OUTPUT_SHARES of them).
    const shares = onFleet ? Math.min(FLEET_OUTPUT_SHARES, Math.max(1, fleet?.hosts.length ?? FLEET_OUTPUT_SHARES)) : 1;
    const limits = { headChars: this.outputLimits.headChars * shares, tailChars: this.outputLimits.tailChars * shares };
    const run = new Run(request.runId ?? randomUUID(), request, limits, { keepBytes: this.keepBytes });
    run.fleet = fleet;
    run.masker = this.options.secrets?.masker();
    this.runs.set(run.runId, run);
    this.onRun?.(run);
    this.forgetOldRuns();
    if (request.batch !== undefined && this.failedBatches.has(request.batch)) run.cancelRequested = true;
    this.waiting.push(run);
    // The run in progress counts as one ahead of it.
    if (this.current) run.emit({ event: 'queued', data: { runId: run.runId, position: this.waiting.length } });
    if (fleet) this.announceFleet(run, fleet);
    void this.pump();
    return run;
  }

  /** The `fleet` event: once, before any host starts. */
  private announceFleet(run: Run, fleet: ResolvedFleet): void {
    run.emit({ event: 'fleet', data: { runId: run.runId, on: fleet.on, label: fleet.label, targets: fleet.hosts.map((h) => h.target) } });
  }

  /**
   * Queues the block of fleet run `runId` again on its hosts that failed, were interrupted or
   * could not be reached, and only those (the page's and the API's Re-run failed), as run
   * `options.runId` when given: a known one is answered as it is, never run twice (as submit does),
   * so a client may retry the request.
   * @returns the new run, or why not: 404 for an unknown run, 409 for one not finished, 400 for a
   *   run that is no fleet run or where no host failed.
   */
  rerunFailed(runId: string, options: { cols?: number; runId?: string } = {}): Run | { error: string; status: 400 | 404 | 409 } {
    const known = options.runId !== undefined ? this.runs.get(options.runId) : undefined;
    if (known) return known;
    const { cols } = options;
    const run = this.runs.get(runId);
    if (!run) return { error: 'no such run', status: 404 };
    if (!run.fleet && !(run.request.on !== undefined && isFleet(run.request.on))) return { error: 'the run is not a fleet run', status: 400 };
    const end = run.ended;
    if (!run.finished || !end) return { error: 'the run has not ended yet', status: 409 };
    const failed = new Set(('hosts' in end ? end.hosts : []).filter(hostFailed).map((h) => h.target));
    const hosts = (run.fleet?.hosts ?? []).filter((h) => failed.has(h.target));
    if (hosts.length === 0) return { error: 'no host of the run failed', status: 400 };
    const on = hosts.map((h) => h.target).join(',');
    const fleet: ResolvedFleet = { on, label: `failed of ${run.fleet!.on}: ${hosts.length} host${hosts.length === 1 ? '' : 's'}`, hosts };
    const { runId: _old, batch: _batch, ...request } = run.request;
    return this.submit({ ...request, on, ...(cols !== undefined ? { cols } : {}), ...(options.runId !== undefined ? { runId: options.runId } : {}) }, fleet);
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

  /** Where runs that name no target run when that is a fleet (RunQueueOptions.defaultFleet). */
  get defaultFleet(): string | undefined {
    return this.options.defaultFleet;
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
  interrupt(runId: string, target?: string): boolean {
    const run = this.runs.get(runId);
    if (!run || run.finished) return false;
    if (run === this.current && this.preparing) {
      this.preparing.abort();
      return true;
    }
    if (run === this.current && this.fleet) return this.fleet.interrupt(target);
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

  /** Types `data` into the terminal of the run if it is the one running (a fleet run: into host `target`'s); false otherwise. */
  input(runId: string, data: string, target?: string): boolean {
    if (this.current?.runId !== runId || this.current.status !== 'running') return false;
    if (this.fleet) return target !== undefined && this.fleet.input(target, data);
    return this.currentSession !== undefined && this.currentSession.input(data);
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
      this.forgetOldRuns(); // its output counts in full now
      void this.pump();
    }
  }

  private async execute(run: Run): Promise<void> {
    if (run.fleet || (run.request.on !== undefined && isFleet(run.request.on))) return this.executeFleet(run);
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
      const { unreachable: _, ...end } = result; // a single target's end is as before fleets
      run.emit({ event: 'end', data: { runId: run.runId, durationMs: Math.round(performance.now() - t0), ...end } });
      if (result.exitCode !== 0 || result.interrupted) this.cancelBatch(run);
    } catch (err) {
      run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
      this.cancelBatch(run);
    }
  }

  /** Runs a fleet run (fleet-run.ts): its hosts resolved, its inputs asked once, then every host. */
  private async executeFleet(run: Run): Promise<void> {
    const fail = (err: unknown) => {
      run.emit({ event: 'error', data: { runId: run.runId, message: (err as Error).message } });
      this.cancelBatch(run);
    };
    if (!run.fleet) {
      try {
        run.fleet = await resolveFleet(run.request.on!, this.options.inventory);
      } catch (err) {
        return fail(err);
      }
      this.announceFleet(run, run.fleet);
    }
    const cancel = () => {
      run.emit({ event: 'end', data: { runId: run.runId, exitCode: 130, durationMs: 0, interrupted: true, hosts: [], cancelled: true } });
      this.cancelBatch(run);
    };
    if (run.cancelRequested) return cancel();
    let code = run.request.code;
    let beforeHost: ((session: ShellSession) => Promise<void>) | undefined;
    if (this.options.prepareFleet) {
      this.preparing = new AbortController();
      try {
        const prepared = await this.options.prepareFleet(run, this.preparing.signal);
        if (prepared === undefined || this.preparing.signal.aborted) return cancel();
        ({ code, beforeHost } = prepared);
      } catch (err) {
        return fail(err);
      } finally {
        this.preparing = undefined;
      }
    }
    this.background.flushOutput();
    try {
      const returns = this.topLevelReturns && !run.request.interpreter && code.includes('return') ? (await this.topLevelReturns())(code) : undefined;
      this.fleet = new FleetExecution(run, {
        sessions: this.sessions,
        fleet: run.fleet,
        code,
        forks: run.request.forks ?? this.options.forks ?? DEFAULT_FORKS,
        secrets: this.options.secrets,
        keepBytes: this.keepBytes,
        topLevelReturns: returns,
        beforeHost,
      });
      const end = await this.fleet.execute();
      if (end.exitCode !== 0 || end.interrupted) this.cancelBatch(run);
    } catch (err) {
      fail(err);
    } finally {
      this.fleet = undefined;
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

  /**
   * Forgets the oldest finished runs while more than `maxRuns` runs are kept or their output
   * together is over `maxKeptOutput` characters; the newest finished run stays (a client may be
   * showing it). A forgotten run's events are answered 404; the history still has it.
   */
  private forgetOldRuns(): void {
    let kept = 0;
    let newestFinished: Run | undefined;
    for (const run of this.runs.values()) {
      kept += run.keptOutputChars;
      if (run.finished) newestFinished = run;
    }
    for (const [id, run] of this.runs) {
      if (this.runs.size <= this.maxRuns && kept <= this.maxKeptOutput) break;
      if (!run.finished || run === newestFinished) continue;
      this.runs.delete(id);
      kept -= run.keptOutputChars;
    }
  }
}
