/**
 * The page's client of the HTTP API (shared/notes/api.md): JSON calls with the bearer token, and
 * run streams read with fetch + ReadableStream + eventsource-parser (EventSource cannot send the
 * Authorization header).
 */
import { createParser } from 'eventsource-parser';

import type { RunEvent } from '../src/session/run.js';

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

export class Api {
  constructor(private readonly token: string) {}

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      throw new ApiError(res.status, String(payload.error ?? `${res.status} ${res.statusText}`), payload);
    }
    return res;
  }

  /** Sends a JSON request and returns the parsed JSON answer. @throws ApiError for non-2xx. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /**
   * Posts a block (POST /api/runs) and calls `onEvent` for each SSE event until the stream ends.
   * @throws ApiError when the server refuses the request; network errors as fetch throws them.
   */
  async run(
    body: { code: string; runId: string; lineStart?: number; lineEnd?: number; cols?: number },
    onEvent: (event: RunEvent) => void,
  ): Promise<void> {
    const res = await this.request('POST', '/api/runs', body);
    const parser = createParser({
      onEvent: (message) => {
        onEvent({ id: Number(message.id), event: message.event, data: JSON.parse(message.data) } as RunEvent);
      },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  }
}
