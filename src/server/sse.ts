/**
 * The API's Server-Sent Events responses (WHATWG HTML §9.2): `id:` is a run's own sequence number,
 * `event:` the event name, `data:` one line of JSON.
 */
import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { streamHeaders } from './guards.js';
import { outputFilter } from '../runs/host-output.js';
import type { Run } from '../runs/run.js';

/** Idle streams get a comment line this often (ms), so proxies and clients keep them open. */
export const PING_MS = 15_000;
/** Reconnection delay suggested to clients with the first event (ms). */
export const RETRY_MS = 1_000;
/**
 * A stream's headers and first frames are held this long (ms) and written together: a quick
 * block's whole stream (headers, `start`, `end`) is then one write, which its client reads in one
 * wake-up, where three writes cost ~0.3 ms more through another process on two cores. Output
 * events are coalesced for 16 ms anyway (runs/run.ts), so this is no later than a block's first
 * output arrives.
 */
export const FIRST_WRITE_MS = 4;

/** The reason a stream's `stop` aborts when its client goes away. */
const CLIENT_GONE = new Error('the client went away');

/**
 * An SSE response with what every event stream of the API shares: a `: ping` comment when idle for
 * {@link PING_MS}, `stop` aborted when the client goes away or `shutdown` aborts, and then (server
 * stopping) a final `shutdown` event, so clients stop reconnecting. `body` writes frames with `send`
 * (skipped once the client is gone; it waits while Node's buffer for the client is full) until it
 * returns. The headers and what is sent in the first {@link FIRST_WRITE_MS} go out as one write,
 * then, or with the end of the stream if it ends first.
 *
 * The frames go straight to Node's response (@hono/node-server's `outgoing`), with the headers the
 * middleware gives API responses (guards.ts, streamHeaders): Hono's streamSSE passes each write
 * through web streams, which cost ~0.3 ms a block and most of the p95 of a quick block's stream.
 */
export function eventStream(
  c: Context,
  shutdown: AbortSignal,
  body: (send: (frame: string) => Promise<void>, stop: AbortSignal) => Promise<void>,
): Response {
  const out = (c.env as { outgoing: ServerResponse }).outgoing;
  // One controller, aborted with a reason (an AbortSignal.any of two signals, and the
  // DOMException of a reasonless abort, cost ~50 µs a stream); not at all once `body` returned.
  const stopping = new AbortController();
  const stop = stopping.signal;
  let finished = false;
  const onShutdown = () => stopping.abort(shutdown.reason);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  out.once('close', () => {
    if (!finished) stopping.abort(CLIENT_GONE);
  });
  let lastWrite = Date.now();
  const writable = () => !out.destroyed && !out.writableEnded;
  /** Frames sent before the first write; undefined once it is done. */
  let held: string[] | undefined = [];
  let holdTimer: NodeJS.Timeout | undefined;
  /** Ends the hold: the headers and the held frames, as one write. */
  const release = () => {
    clearTimeout(holdTimer);
    const text = held?.join('');
    held = undefined;
    if (text === undefined || !writable()) return;
    if (text) out.write(text);
    else out.flushHeaders();
  };
  const send = async (text: string) => {
    if (!writable()) return;
    lastWrite = Date.now();
    if (held) {
      held.push(text);
      return;
    }
    if (out.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
    });
  };
  const ping = setInterval(() => {
    if (Date.now() - lastWrite >= PING_MS && writable()) void send(': ping\n\n');
  }, PING_MS / 3);
  void (async () => {
    try {
      out.writeHead(200, await streamHeaders());
      holdTimer = setTimeout(release, FIRST_WRITE_MS);
      await body(send, stop);
      finished = true;
      if (shutdown.aborted) await send(frame('shutdown', {}));
      clearTimeout(holdTimer);
      // A stream that ended while held: its headers, frames and last chunk in one write.
      const rest = held?.join('');
      held = undefined;
      if (rest && writable()) out.end(rest);
      else out.end();
    } catch {
      out.destroy(); // a failed write or stream: the client sees the connection end, and retries
    } finally {
      finished = true;
      shutdown.removeEventListener('abort', onShutdown);
      clearTimeout(holdTimer);
      clearInterval(ping);
    }
  })();
  return RESPONSE_ALREADY_SENT;
}

/**
 * Streams the run's events after `afterId` (0: from the first), then live ones, and closes after
 * `end` or `error`, or with a final `shutdown` event when `shutdown` aborts. The stream pulls from
 * the run's log at the pace the client reads (no queue per client), and a connected client that
 * lags pauses the shell (Run.follow). A client that goes away only stops its own stream; the run
 * goes on. With `output` (a fleet host's target), the other hosts' output is left out as
 * host-output.ts's outputFilter says; the events left out count as read for the flow control.
 */
export function streamRun(c: Context, run: Run, afterId: number, shutdown: AbortSignal, output?: string): Response {
  const filter = output === undefined ? undefined : outputFilter(output);
  return eventStream(c, shutdown, async (send, stop) => {
    let retry: number | undefined = RETRY_MS;
    for await (const each of run.follow(afterId, stop)) {
      const event = filter ? filter(each) : each;
      if (!event) continue;
      await send(frame(event.event, event.data, event.id, retry));
      retry = undefined;
    }
  });
}

/**
 * One event as an SSE frame, its data as JSON. The data is one line, as JSON.stringify never emits
 * raw line breaks, so it is written as is: Hono's writeSSE would scan and copy every output chunk
 * again to split it.
 */
export function frame(event: string, data: unknown, id?: number, retry?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n${retry ? `retry: ${retry}\n` : ''}\n`;
}

/** The id after which to resume: the Last-Event-ID header, else `?lastEventId=`, else 0. */
export function lastEventId(c: Context): number {
  const raw = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? '0';
  const id = Number(raw);
  return Number.isInteger(id) && id >= 0 ? id : 0;
}
