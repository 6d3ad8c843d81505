/**
 * The history routes (README, "HTTP API"), mounted under /api behind the token:
 * `GET /api/history?limit=N&before=<startedAt>` lists this script's runs, newest first, and
 * `GET /api/history/:runId` answers one of them with its output. Without a history (--no-history,
 * or a database that could not be opened) the list is empty and every run is 404.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { HistoryRecorder } from '../history/recorder.js';
import type { HistorySummary } from '../history/store.js';
import { queryParams } from './schemas.js';

/** Query of GET /api/history. */
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z.coerce.number().int().min(0).optional(),
});

/** A summary as the API answers it: `thisSession` is true for runs of this cmdrun process. */
export type ApiHistorySummary = HistorySummary & { thisSession: boolean };

/** Adds the history routes to `api` (the /api sub-app, after its token guard). */
export function historyRoutes(api: Hono, history: HistoryRecorder | undefined): void {
  const tag = <T extends HistorySummary>(run: T): T & { thisSession: boolean } => ({ ...run, thisSession: run.session === history?.session });
  api.get(
    '/history',
    queryParams(listQuery),
    (c) => {
      if (!history) return c.json([]);
      const { limit, before } = c.req.valid('query');
      history.flushAll(); // a running block's output so far is part of what is asked for
      return c.json(history.store.list({ script: history.script, limit, before }).map(tag));
    },
  );
  api.get('/history/:runId', (c) => {
    history?.flushAll();
    const run = history?.store.get(c.req.param('runId'));
    // Only this script's runs: the token opens one file, not the history of every script.
    if (!history || !run || run.script !== history.script) return c.json({ error: 'no such run in the history of this script' }, 404);
    return c.json(tag(run));
  });
}
