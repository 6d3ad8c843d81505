/**
 * Validating JSON bodies (schemas.ts) with an answer of 400 "field: problem; ..." for an invalid
 * one. zod takes ~40 ms to import: the schemas are loaded when the app is built, in the
 * background, so the server answers its first request (health) without waiting for them; a
 * request with a body waits for them if it comes first.
 */
import type { Context } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import type * as Schemas from './schemas.js';

type Bodies = typeof Schemas.bodies;
type Queries = typeof Schemas.queries;

let loading: Promise<typeof Schemas> | undefined;

/** Starts loading the schemas (once) and resolves to them. */
export function loadSchemas(): Promise<typeof Schemas> {
  loading ??= import('./schemas.js');
  return loading;
}

/** "field: problem; ..." of a failed parse; `whole` names the value itself. */
const problems = (error: z.ZodError, whole: string) => error.issues.map((issue) => `${issue.path.join('.') || whole}: ${issue.message}`).join('; ');

/** A Hono validator for the JSON body `name` that answers 400 with "field: problem; ..." when it is invalid. */
export function jsonBody<K extends keyof Bodies>(name: K) {
  return validator('json', async (value, c: Context) => {
    const parsed = (await loadSchemas()).bodies[name].safeParse(value);
    if (parsed.success) return parsed.data as z.infer<Bodies[K]>;
    return c.json({ error: `invalid request body: ${problems(parsed.error, 'body')}` }, 400);
  });
}

/** A Hono validator for the query string `name`, answering 400 "invalid query: field: problem" like {@link jsonBody}. */
export function queryParams<K extends keyof Queries>(name: K) {
  return validator('query', async (value, c: Context) => {
    const parsed = (await loadSchemas()).queries[name].safeParse(value);
    if (parsed.success) return parsed.data as z.infer<Queries[K]>;
    return c.json({ error: `invalid query: ${problems(parsed.error, 'query')}` }, 400);
  });
}
