/**
 * Following runs from the page: the server queues and runs blocks; the page follows each run's
 * event stream in order, one connection at a time, and resumes a dropped stream from the last
 * event id it saw (Last-Event-ID), so no output is lost or shown twice.
 */
import type { EndData } from '../src/runs/run.js';
import { ApiError, type Api, type RunEvent } from './api.js';
import type { EventStreams } from './event-streams.js';
import { liveOutputs } from './fleet-live.js';
import { FleetPanel } from './fleet-panel.js';
import type { OutputView } from './output-view.js';

/** A run the page shows: its id and its output panel; a fleet run's host strip once it is known. */
export interface PageRun {
  runId: string;
  view: OutputView;
  fleet?: FleetPanel;
}

/** What the follower tells the rest of the page. */
export interface FollowerEvents {
  /** `connected`, `reconnecting…`, `disconnected` or `server stopped`. */
  connection(state: string): void;
  /** A run started (its panel shows the input line) or ended (undefined). */
  running(run: PageRun | undefined): void;
  /** A run asks before it starts (`params` or `confirm`); `answered` when it starts or ends. */
  asks?(run: PageRun, event: Extract<RunEvent, { event: 'params' | 'confirm' }>): void;
  answered?(run: PageRun): void;
  /** A run ended with an exit status; `startedAt` (epoch ms) is its start event's. */
  ended?(run: PageRun, end: EndData, startedAt: number | undefined): void;
  /** Re-run failed was chosen in a fleet run's panel. */
  rerunFailed?(run: PageRun): void;
}

/** Waits before reconnect attempt `n` (ms): 250, 500, 1000, ... up to 5 s. */
const backoff = (n: number) => Math.min(250 * 2 ** n, 5000);
/** Attempts in a row without any event before the page gives up (until the user acts again). */
const MAX_ATTEMPTS = 8;

export class RunFollower {
  private readonly order: PageRun[] = [];
  /** Resolves true once the server has the run (its POST was answered), false if it never will. */
  private readonly posted = new Map<PageRun, Promise<boolean>>();
  private looping = false;
  /** Runs started so far, in order: the execution count each run shows, as Jupyter's `[n]`. */
  private executions = 0;
  /** True once the server said it is stopping: nothing reconnects any more. */
  stopped = false;

  constructor(
    private readonly api: Api,
    private readonly streams: EventStreams,
    private readonly on: FollowerEvents,
    /** Types into the run's terminal; in a fleet run, into host `target`'s. */
    private readonly send: (run: PageRun, data: string, target?: string) => void,
    /** Interrupts the run; in a fleet run, only host `target` when given. */
    private readonly interrupt: (run: PageRun, target?: string) => void,
  ) {}

  /**
   * Follows `run` after the runs already followed (runs execute in the order they were posted),
   * once `posted` resolves true.
   */
  add(run: PageRun, posted: Promise<boolean>): void {
    this.order.push(run);
    this.posted.set(run, posted);
    if (this.order.length > 1) run.view.queued();
    void this.loop();
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.order.length > 0 && !this.stopped) {
        const run = this.order[0];
        if (await this.posted.get(run)) await this.follow(run);
        this.posted.delete(run);
        this.order.shift();
      }
    } finally {
      this.looping = false;
    }
    if (this.stopped) for (const run of this.order.splice(0)) run.view.failed('the server stopped');
  }

  /** A fleet host's event, for the fleet panel. */
  private hostEvent(fleet: FleetPanel, event: RunEvent, target: string): void {
    if (event.event === 'start') fleet.hostStarted({ ...event.data, target });
    else if (event.event === 'output') fleet.output(target, event.data.text, event.id);
    else if (event.event === 'waiting') fleet.waiting(target);
    else if (event.event === 'end') fleet.hostEnded({ ...event.data, target });
  }

  /**
   * Streams one run to its end, reconnecting after network errors. A fleet run's stream carries
   * the output of the host its panel shows only (`?output=TARGET`): when the panel shows another
   * host, the stream is opened again for that one, from the last event its output so far included
   * (the old stream left that host's later output out); of the events seen already, only that
   * host's output is taken.
   */
  private async follow(run: PageRun): Promise<void> {
    let lastId = 0;
    /** The fleet host whose output the stream carries, and the stream's own abort (to open it again for another host). */
    let output: string | undefined;
    let current: AbortController | undefined;
    /** After another host is shown: the last event its output so far included (the stream opens after it). */
    let replayAfter: number | undefined;
    const shown = (target: string, throughId: number) => {
      if (target === output) return;
      output = target;
      replayAfter = Math.min(replayAfter ?? Infinity, throughId);
      current?.abort();
    };
    let attempts = 0;
    let finished = false;
    let startedAt: number | undefined;
    const handle = (event: RunEvent | { id: number; event: 'shutdown' }) => {
      // A fleet host's own start, output, waiting and end name their `target` (web/fleet-panel.ts).
      const target = event.event !== 'shutdown' && 'target' in event.data ? event.data.target : undefined;
      // Seen already (a stream opened again for another host): only that host's output is new.
      if (event.id && event.id <= lastId && !(event.event === 'output' && target === output)) return;
      if (event.event !== 'shutdown' && event.id) lastId = Math.max(lastId, event.id);
      attempts = 0;
      this.on.connection('connected');
      if (target !== undefined && run.fleet) return this.hostEvent(run.fleet, event as RunEvent, target);
      if (event.event === 'start' || event.event === 'end' || event.event === 'error') this.on.answered?.(run);
      switch (event.event) {
        case 'fleet':
          // From here on the stream carries the output of the host shown only (the first, until another is chosen).
          if (event.data.targets[0] !== undefined) shown(event.data.targets[0], lastId);
          run.fleet = new FleetPanel(run.view, event.data, {
            rerunFailed: () => this.on.rerunFailed?.(run),
            live: liveOutputs(this.api, run.runId, shown),
          });
          break;
        case 'params':
        case 'confirm':
          this.on.asks?.(run, event);
          break;
        case 'queued':
          run.view.queued(event.data.position);
          break;
        case 'start':
          startedAt = event.data.startedAt;
          run.view.started(++this.executions, (data) => this.send(run, data, run.fleet?.chosen), () => this.interrupt(run, run.fleet?.chosen), event.data.on, run.fleet?.remote);
          this.on.running(run);
          break;
        case 'output':
          run.view.write(event.data.text);
          break;
        case 'waiting':
          run.view.waiting();
          break;
        case 'end':
          finished = true;
          // A fleet run's own end (FleetEndData) has its hosts and no cwd: the fleet panel settles them.
          run.view.ended({ sessionRestarted: false, ...event.data });
          if ('hosts' in event.data) run.fleet?.ended(event.data.hosts);
          this.on.ended?.(run, event.data as EndData, startedAt);
          break;
        case 'error':
          finished = true;
          run.view.failed(event.data.message);
          break;
        case 'shutdown':
          this.stopped = true;
          this.on.connection('server stopped');
          break;
      }
    };
    try {
      while (!finished && !this.stopped) {
        const stream = (current = new AbortController());
        const after = Math.min(lastId, replayAfter ?? Infinity);
        replayAfter = undefined;
        try {
          await this.streams.events(run.runId, after, handle, stream.signal, output);
        } catch (err) {
          if (err instanceof ApiError && !stream.signal.aborted) {
            run.view.failed(err.status === 404 ? 'the server no longer keeps this run' : err.message);
            return;
          }
        }
        if (finished || this.stopped) break;
        if (stream.signal.aborted) continue; // another host is shown: its stream opens at once
        if (++attempts > MAX_ATTEMPTS) {
          this.stopped = true;
          this.on.connection('disconnected: reload the page to reconnect');
          break;
        }
        this.on.connection('reconnecting…');
        await new Promise((resolve) => setTimeout(resolve, backoff(attempts)));
      }
      if (!finished && this.stopped) run.view.failed('the server stopped');
    } finally {
      current = undefined;
      this.on.running(undefined);
    }
  }
}
