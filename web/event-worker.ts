/**
 * The page's event streams, read in a worker (web/event-streams.ts is its other side): the worker
 * fetches GET /api/runs/:runId/events, parses the SSE and JSON, and posts the events to the page
 * in batches, one per chunk read. A fleet run's stream names the host the page shows
 * (`?output=TARGET`): the server leaves the other hosts' output out (src/runs/host-output.ts), so
 * 50 hosts streaming 1 MB each cost the page one host's output.
 */
import { createParser } from 'eventsource-parser';
import type { RunEvent } from '../src/runs/run.js';
import type { FromWorker, ToWorker } from './event-streams.js';

/** The worker's global scope (the project's types are the page's, DOM; a worker's differ here only). */
const scope = self as unknown as { postMessage(message: FromWorker): void; onmessage: ((event: MessageEvent<ToWorker>) => void) | null };

const streams = new Map<number, AbortController>();

const post = (message: FromWorker) => scope.postMessage(message);

async function open(id: number, token: string, runId: string, afterId: number, output?: string): Promise<void> {
  const abort = new AbortController();
  streams.set(id, abort);
  try {
    const query = output === undefined ? '' : `?output=${encodeURIComponent(output)}`;
    const res = await fetch(`/api/runs/${encodeURIComponent(runId)}/events${query}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', 'Last-Event-ID': String(afterId) },
      signal: abort.signal,
    });
    if (!res.ok) {
      const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return post({ type: 'closed', id, status: res.status, message: String(payload.error ?? `${res.status} ${res.statusText}`) });
    }
    let batch: RunEvent[] = [];
    const parser = createParser({
      onEvent: (message) => {
        batch.push({ id: Number(message.id ?? 0), event: message.event ?? 'message', data: JSON.parse(message.data) } as RunEvent);
      },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
      if (batch.length) post({ type: 'events', id, events: batch });
      batch = [];
    }
    post({ type: 'closed', id });
  } catch (err) {
    post({ type: 'closed', id, message: err instanceof Error ? err.message : String(err) });
  } finally {
    streams.delete(id);
  }
}

scope.onmessage = ({ data: message }) => {
  switch (message.type) {
    case 'open':
      void open(message.id, message.token, message.runId, message.afterId, message.output);
      break;
    case 'abort':
      streams.get(message.id)?.abort();
      break;
  }
};
