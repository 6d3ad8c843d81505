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
