/**
 * Run event streams read by a worker (web/event-worker.ts), so that parsing them never holds up
 * the page's thread. `events` keeps Api.events' contract; a fleet run's hosts' output stays in the
 * worker, but for the host the page shows, until `release` hands every host's output over.
 */
import type { RunEvent } from '../src/runs/run.js';
import { ApiError } from './api.js';

/** Messages to the worker. */
export type ToWorker =
  | { type: 'open'; id: number; token: string; runId: string; afterId: number }
  | { type: 'abort'; id: number }
  | { type: 'show'; request: number; runId: string; target: string }
  | { type: 'texts'; request: number; runId: string }
  | { type: 'release'; runId: string };

/** Messages from the worker; `raw`/`texts` undefined: the worker no longer has the run. */
export type FromWorker =
  | { type: 'events'; id: number; events: RunEvent[] }
  | { type: 'closed'; id: number; status?: number; message?: string }
  | { type: 'shown'; request: number; raw?: string }
  | { type: 'texts'; request: number; texts?: Record<string, string> }
  | { type: 'host'; runId: string; target: string; raw: string; dropped: number }
  | { type: 'released'; runId: string };

/** A request without its number (which `request` gives it). */
type WithoutRequest<T> = T extends unknown ? Omit<T, 'request'> : never;

/** A host's whole output handed over by the worker: as it arrived, and how much of its start was not kept. */
export interface HostOutput {
  raw: string;
  dropped: number;
}

interface Open {
  onEvent: (event: RunEvent | { id: number; event: 'shutdown' }) => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class EventStreams {
  private readonly worker: Worker;
  private next = 1;
  private readonly open = new Map<number, Open>();
  private readonly requests = new Map<number, (message: FromWorker) => void>();
  private readonly takers = new Map<string, { host: (target: string, output: HostOutput) => void; done: () => void }>();

  constructor(private readonly token: string) {
    this.worker = new Worker(new URL('./event-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }: MessageEvent<FromWorker>) => this.received(data);
  }

  /**
   * Streams a run's events after id `afterId` until the stream ends (after `end`, `error` or
   * `shutdown`, or when the connection drops), as Api.events does. In a fleet run, the output of
   * the hosts not shown comes as one empty `output` per host (it printed) until it starts or
   * waits again.
   * @throws ApiError when the server refuses (404: the run is no longer kept); an Error when the connection failed
   */
  events(runId: string, afterId: number, onEvent: (event: RunEvent | { id: number; event: 'shutdown' }) => void, signal?: AbortSignal): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.open.set(id, { onEvent, resolve, reject });
      signal?.addEventListener('abort', () => this.post({ type: 'abort', id }), { once: true });
      this.post({ type: 'open', id, token: this.token, runId, afterId });
    });
  }

  /**
   * Shows fleet run `runId`'s host `target` from now on: resolves with what it printed so far,
   * undefined when the worker no longer has the run (its output was handed over).
   */
  show(runId: string, target: string): Promise<string | undefined> {
    return this.request({ type: 'show', runId, target }, (m) => (m.type === 'shown' ? m.raw : undefined));
  }

  /** Every host's output so far as plain text (RawOutput.plain), by target; undefined as for show. */
  texts(runId: string): Promise<Record<string, string> | undefined> {
    return this.request({ type: 'texts', runId }, (m) => (m.type === 'texts' ? m.texts : undefined));
  }

  /** Hands every host's output of fleet run `runId` to `host`, then calls `done`; the worker forgets the run. */
  release(runId: string, host: (target: string, output: HostOutput) => void, done: () => void = () => {}): void {
    this.takers.set(runId, { host, done });
    this.post({ type: 'release', runId });
  }

  private request<T>(message: WithoutRequest<Extract<ToWorker, { request: number }>>, pick: (m: FromWorker) => T): Promise<T> {
    const request = this.next++;
    return new Promise<T>((resolve) => {
      this.requests.set(request, (m) => resolve(pick(m)));
      this.post({ ...message, request } as ToWorker);
    });
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private received(m: FromWorker): void {
    switch (m.type) {
      case 'events':
        for (const event of m.events) this.open.get(m.id)?.onEvent(event);
        break;
      case 'closed': {
        const open = this.open.get(m.id);
        this.open.delete(m.id);
        if (m.status !== undefined) open?.reject(new ApiError(m.status, m.message ?? `${m.status}`));
        else if (m.message !== undefined) open?.reject(new Error(m.message));
        else open?.resolve();
        break;
      }
      case 'shown':
      case 'texts':
        this.requests.get(m.request)?.(m);
        this.requests.delete(m.request);
        break;
      case 'host':
        this.takers.get(m.runId)?.host(m.target, { raw: m.raw, dropped: m.dropped });
        break;
      case 'released':
        this.takers.get(m.runId)?.done();
        this.takers.delete(m.runId);
        break;
    }
  }
}
