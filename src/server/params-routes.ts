/**
 * Routes of runbook inputs (README: "Parameters and secrets"): answering a run that asks for its
 * parameters or a confirmation, and the notebook's Environment (secret values never included).
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { ApiAsker, NotebookEnv } from '../runs/inputs.js';
import type { RunQueue } from '../runs/run-queue.js';
import { jsonBody } from './validate.js';

/** What the routes need. */
export interface InputDeps {
  env: NotebookEnv;
  asker: ApiAsker;
}

/**
 * Adds to `api`:
 * - `POST /runs/:runId/params {values}`: 400 for a missing or unknown name, 409 when the run does not ask;
 * - `POST /runs/:runId/confirm {yes}`: a no cancels the run (Run all stops there);
 * - `GET /env`: `{variables: [{name, value, source, secret, askAgain, message?}]}`, a secret's value `***`;
 * - `POST /env/:name/ask-again`: the next block that uses it asks for it.
 */
export function paramsRoutes(api: Hono, deps: InputDeps, runs: RunQueue, tooLarge: MiddlewareHandler): void {
  const known = (runId: string) => runs.get(runId) !== undefined;
  api.post('/runs/:runId/params', tooLarge, jsonBody('params'), (c) => {
    const runId = c.req.param('runId');
    if (!known(runId)) return c.json({ error: 'no such run' }, 404);
    const refused = deps.asker.answer(runId, 'params', c.req.valid('json').values);
    return refused ? c.json({ error: refused.error }, refused.status) : c.json({ runId, answered: true });
  });
  api.post('/runs/:runId/confirm', tooLarge, jsonBody('confirm'), (c) => {
    const runId = c.req.param('runId');
    if (!known(runId)) return c.json({ error: 'no such run' }, 404);
    const refused = deps.asker.answer(runId, 'confirm', c.req.valid('json').yes);
    return refused ? c.json({ error: refused.error }, refused.status) : c.json({ runId, answered: true });
  });
  api.get('/env', (c) => c.json({ variables: deps.env.list() }));
  api.post('/env/:name/ask-again', (c) => {
    const name = c.req.param('name');
    if (!deps.env.askAgain(name)) return c.json({ error: `no parameter ${name}` }, 404);
    return c.json({ name, askAgain: true });
  });
}
