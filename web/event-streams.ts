/**
 * Run event streams read by a worker (web/event-worker.ts), so that parsing them never holds up
 * the page's thread. `events` keeps Api.events' contract.
 */
import type { RunEvent } from '../src/runs/run.js';
import { ApiError } from './api.js';

/** Messages to the worker. */
export type ToWorker = { type: 'open'; id: number; token: string; runId: string; afterId: number; output?: string } | { type: 'abort'; id: number };

/** Messages from the worker. */
export type FromWorker = { type: 'events'; id: number; events: RunEvent[] } | { type: 'closed'; id: number; status?: number; message?: string };

interface Open {
  onEvent: (event: RunEvent | { id: number; event: 'shutdown' }) => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class EventStreams {
  private readonly worker: Worker;
  private next = 1;
  private readonly open = new Map<number, Open>();

  constructor(private readonly token: string) {
    this.worker = new Worker(new URL('./event-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }: MessageEvent<FromWorker>) => this.received(data);
  }

  /**
   * Streams a run's events after id `afterId` until the stream ends (after `end`, `error` or
   * `shutdown`, or when the connection drops), as Api.events does. With `output` (a fleet run's
   * host), the other hosts' output comes as one empty `output` each time they print again after
   * another event of theirs (GET /api/runs/:runId/events?output=TARGET).
   * @throws ApiError when the server refuses (404: the run is no longer kept); an Error when the connection failed or `signal` aborted
   */
  events(runId: string, afterId: number, onEvent: (event: RunEvent | { id: number; event: 'shutdown' }) => void, signal?: AbortSignal, output?: string): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.open.set(id, { onEvent, resolve, reject });
      signal?.addEventListener('abort', () => this.post({ type: 'abort', id }), { once: true });
      this.post({ type: 'open', id, token: this.token, runId, afterId, ...(output !== undefined ? { output } : {}) });
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
    }
  }
}
