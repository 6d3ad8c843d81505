/**
 * A run's events as a Server-Sent Events response (WHATWG HTML §9.2): `id:` is the run's own
 * sequence number, `event:` the event name, `data:` one line of JSON (Hono's writeSSE splits data
 * on line breaks, and JSON.stringify never emits raw ones).
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Run, RunEvent } from '../session/run.js';

/** Idle streams get a comment line this often (ms), so proxies and clients keep them open. */
export const PING_MS = 15_000;
/** Reconnection delay suggested to clients with the first event (ms). */
export const RETRY_MS = 1_000;

/**
 * Streams the run's events after `afterId` (0: from the first), then live ones, and closes after
 * `end` or `error`, or with a final `shutdown` event when `shutdown` aborts. The stream pulls from the run's log at the pace the client reads (no queue per
 * client), and a connected client that lags pauses the shell (Run.follow). A client that goes away
 * only stops its own stream; the run goes on.
 */
export function streamRun(c: Context, run: Run, afterId: number, shutdown: AbortSignal): Response {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const stop = AbortSignal.any([abort.signal, shutdown]);
    let lastWrite = Date.now();
    const ping = setInterval(() => {
      if (Date.now() - lastWrite >= PING_MS && !stream.aborted) void stream.write(': ping\n\n');
    }, PING_MS / 3);
    let first = true;
    try {
      for await (const event of run.follow(afterId, stop)) {
        await stream.write(frame(event, first ? RETRY_MS : undefined));
        first = false;
        lastWrite = Date.now();
      }
      // The server is stopping: say so, so clients stop reconnecting (or retry later on purpose).
      if (shutdown.aborted && !stream.aborted) await stream.writeSSE({ event: 'shutdown', data: '{}' });
    } finally {
      clearInterval(ping);
    }
  });
}

/**
 * One event as an SSE frame. The data is one line, as JSON.stringify never emits raw line breaks, so
 * it is written as is: Hono's writeSSE would scan and copy every output chunk again to split it.
 */
function frame(event: RunEvent, retry?: number): string {
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n${retry ? `retry: ${retry}\n` : ''}\n`;
}

/** The id after which to resume: the Last-Event-ID header, else `?lastEventId=`, else 0. */
export function lastEventId(c: Context): number {
  const raw = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? '0';
  const id = Number(raw);
  return Number.isInteger(id) && id >= 0 ? id : 0;
}
