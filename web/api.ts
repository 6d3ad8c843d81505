/**
 * The page's client of the HTTP API (shared/notes/api.md): JSON calls with the bearer token, and
 * event streams read with fetch + ReadableStream + eventsource-parser (EventSource cannot send the
 * Authorization header). Runs' event streams are read by a worker (web/event-streams.ts).
 */
import { createParser } from 'eventsource-parser';

import type { RunEvent } from '../src/runs/run.js';

export type { RunEvent };

/** An API error with the server's message and HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** How long the page takes in an event stream before it lets the browser draw (ms). */
const STREAM_SLICE_MS = 10;

/** Resolves in a task of its own (a message to itself: no timer clamping), after what the browser has queued. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}

export class Api {
  constructor(private readonly token: string) {}

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const res = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) {
      const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      throw new ApiError(res.status, String(payload.error ?? `${res.status} ${res.statusText}`), payload);
    }
    return res;
  }

  /** GETs `path` with the token and returns the response (a download). @throws ApiError for non-2xx. */
  fetch(path: string): Promise<Response> {
    return this.request('GET', path, undefined, { Accept: '*/*' });
  }

  /** Sends a JSON request and returns the parsed JSON answer. @throws ApiError for non-2xx. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /**
   * POSTs a new run's body (one that names its `runId`) and returns the JSON answer; a network
   * error is retried with the same body, up to `retries` times (after 300, 600, 900 ms): the server
   * never runs one run id twice.
   * @throws ApiError when the server refuses; the last network error once the retries are spent.
   */
  async postRun<T>(path: string, body: { runId: string; [field: string]: unknown }, retries = 3): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.json<T>('POST', path, body);
      } catch (err) {
        if (err instanceof ApiError || attempt >= retries) throw err;
        await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
      }
    }
  }

  /**
   * Reads an event stream (GET `path` with Last-Event-ID `afterId`) and calls `onMessage` for each
   * event until the stream ends or the connection drops (the caller resumes from the last id).
   * @throws ApiError when the server refuses; network errors as fetch throws them.
   */
  async stream(path: string, afterId: number, onMessage: (message: { id: number; event: string; data: unknown }) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.request('GET', path, undefined, { Accept: 'text/event-stream', 'Last-Event-ID': String(afterId) }, signal);
    const parser = createParser({
      onEvent: (message) => onMessage({ id: Number(message.id ?? 0), event: message.event ?? 'message', data: JSON.parse(message.data) }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let since = performance.now();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
      // read() resolves at once while chunks are queued: a burst of output would be taken in as
      // one long task, the page frozen meanwhile. Let the page draw between slices.
      if (performance.now() - since > STREAM_SLICE_MS) {
        await nextTask();
        since = performance.now();
      }
    }
  }
}
