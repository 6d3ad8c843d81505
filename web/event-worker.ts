/**
 * The page's event streams, read in a worker (web/event-streams.ts is its other side): the worker
 * fetches GET /api/runs/:runId/events, parses the SSE and JSON, and posts the events to the page
 * in batches, one per chunk read. A fleet run's output stays here, in one buffer per host, but for
 * the host the page shows: 50 hosts streaming 1 MB each then cost the page's thread one host's
 * output, not 50 MB of parsing. The page asks for a host's output when the user chooses it
 * (`show`), for every host's text to group them (`texts`), and takes every buffer over when it
 * stops following the run (`release`): nothing stays here after that.
 */
import { createParser } from 'eventsource-parser';
import type { RunEvent } from '../src/runs/run.js';
import { HOST_OUTPUT_LIMIT } from './fleet-hosts.js';
import { RawOutput } from './raw-output.js';
import type { FromWorker, ToWorker } from './event-streams.js';

/** The worker's global scope (the project's types are the page's, DOM; a worker's differ here only). */
const scope = self as unknown as { postMessage(message: FromWorker): void; onmessage: ((event: MessageEvent<ToWorker>) => void) | null };

/** A fleet run's output as the worker keeps it. */
interface FleetOutputs {
  /** Each host's output (every host's, the shown one's too). */
  hosts: Map<string, RawOutput>;
  /** The host whose output goes to the page as it arrives. */
  shown?: string;
  /**
   * Hosts whose output the page was told of since their last start or `waiting`: their further
   * output is kept here without a word (the page needs one `output` to mark them running).
   */
  told: Set<string>;
}

const fleets = new Map<string, FleetOutputs>();
/**
 * The last event id taken in, by run: a stream resumed after a dropped connection starts after the
 * last id the page saw, which may be before output kept here without a word (taken in once only).
 */
const seen = new Map<string, number>();
const streams = new Map<number, AbortController>();

const post = (message: FromWorker) => scope.postMessage(message);

function buffer(fleet: FleetOutputs, target: string): RawOutput {
  let out = fleet.hosts.get(target);
  if (!out) fleet.hosts.set(target, (out = new RawOutput(HOST_OUTPUT_LIMIT)));
  return out;
}

/** What of `event` goes to the page: the event, an empty `output` that marks a host running, or nothing. */
function forward(runId: string, event: RunEvent): RunEvent | undefined {
  if (event.event === 'fleet') {
    fleets.set(runId, { hosts: new Map(), shown: event.data.targets[0], told: new Set() });
    return event;
  }
  const fleet = fleets.get(runId);
  const data: unknown = event.data;
  const target = fleet && data && typeof data === 'object' && 'target' in data ? (event.data as { target?: string }).target : undefined;
  if (!fleet || target === undefined) return event;
  if (event.event !== 'output') {
    fleet.told.delete(target);
    return event;
  }
  buffer(fleet, target).push(event.data.text);
  if (target === fleet.shown) return event;
  if (fleet.told.has(target)) return undefined;
  fleet.told.add(target);
  return { ...event, data: { ...event.data, text: '' } };
}

async function open(id: number, token: string, runId: string, afterId: number): Promise<void> {
  const abort = new AbortController();
  streams.set(id, abort);
  try {
    const res = await fetch(`/api/runs/${encodeURIComponent(runId)}/events`, {
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
        const event = { id: Number(message.id ?? 0), event: message.event ?? 'message', data: JSON.parse(message.data) } as RunEvent;
        if (event.id) {
          if (event.id <= (seen.get(runId) ?? 0)) return;
          seen.set(runId, event.id);
        }
        const out = forward(runId, event);
        if (out) batch.push(out);
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
      void open(message.id, message.token, message.runId, message.afterId);
      break;
    case 'abort':
      streams.get(message.id)?.abort();
      break;
    case 'show': {
      // From here on this host's output goes to the page; what it printed so far is the answer.
      const fleet = fleets.get(message.runId);
      if (fleet) fleet.shown = message.target;
      post({ type: 'shown', request: message.request, raw: fleet ? (fleet.hosts.get(message.target)?.raw() ?? '') : undefined });
      break;
    }
    case 'texts': {
      const fleet = fleets.get(message.runId);
      post({ type: 'texts', request: message.request, texts: fleet ? Object.fromEntries([...fleet.hosts].map(([target, out]) => [target, out.plain()])) : undefined });
      break;
    }
    case 'release': {
      // Every host's buffer to the page, one message each (none is a long task there), then gone.
      const fleet = fleets.get(message.runId);
      fleets.delete(message.runId);
      seen.delete(message.runId);
      for (const [target, out] of fleet?.hosts ?? []) post({ type: 'host', runId: message.runId, target, raw: out.raw(), dropped: out.dropped });
      post({ type: 'released', runId: message.runId });
      break;
    }
  }
};
