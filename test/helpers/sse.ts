import { createParser } from 'eventsource-parser';

/** One parsed SSE event, with its JSON data. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: Record<string, unknown>;
}

/** Reads a whole text/event-stream response with eventsource-parser (the parser the page uses). */
export async function readEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  let retry: number | undefined;
  const parser = createParser({
    onEvent: (m) => events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as Record<string, unknown> }),
    onRetry: (ms) => (retry = ms),
  });
  const text = await res.text();
  parser.feed(text);
  Object.defineProperty(events, 'retry', { value: retry });
  return events;
}

/** The output text of a run's events, concatenated. */
export const outputOf = (events: SseEvent[]): string =>
  events.filter((e) => e.event === 'output').map((e) => e.data.text as string).join('');

/**
 * Reads a text/event-stream response as it arrives, so a test can wait for the event it needs (a
 * `start`, a `waiting`, some output) before acting, instead of waiting a fixed time.
 */
export class EventStream {
  readonly events: SseEvent[] = [];
  /** Resolves with every event once the stream has ended. */
  readonly done: Promise<SseEvent[]>;
  private waiters: Array<() => void> = [];

  constructor(res: Response) {
    const parser = createParser({
      onEvent: (m) => {
        this.events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as Record<string, unknown> });
        for (const wake of this.waiters.splice(0)) wake();
      },
    });
    this.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      for (const wake of this.waiters.splice(0)) wake();
      return this.events;
    })();
    this.done.catch(() => {});
  }

  /**
   * Resolves with the first event that `match` accepts (already received or still to come); rejects
   * when the stream ends without one.
   */
  async until(match: (e: SseEvent) => boolean): Promise<SseEvent> {
    let ended = false;
    void this.done.then(() => (ended = true), () => (ended = true));
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (ended) throw new Error(`the stream ended without the event; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        void this.done.then(() => wake(), () => wake());
      });
    }
  }

  /** Resolves once the output received so far contains `text`. */
  untilOutput(text: string): Promise<SseEvent> {
    return this.until(() => outputOf(this.events).includes(text));
  }
}
