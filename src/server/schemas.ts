/**
 * Request bodies of the HTTP API (shared/notes/api.md), validated with zod. An invalid body is a
 * 400 whose message names the field that is wrong.
 */
import type { Context } from 'hono';
import { validator } from 'hono/validator';
import { z } from 'zod';

/** Run ids and batch ids: 1-64 characters of base64url. */
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"');

/** POST /api/runs. */
export const runBody = z.strictObject({
  code: z.string(),
  runId: id.optional(),
  batch: id.optional(),
  lineStart: z.int().min(1).optional(),
  lineEnd: z.int().min(1).optional(),
  cols: z.int().min(20).max(1000).optional(),
  title: z.string().max(1000).optional(),
});

/** PUT /api/file: the new content, and the mtimeMs it was based on (null: the file did not exist). */
export const fileBody = z.strictObject({
  content: z.string(),
  baseMtimeMs: z.number().nullable(),
});

/** POST /api/runs/:runId/input. */
export const inputBody = z.strictObject({ data: z.string() });

/** "field: problem; ..." of a failed parse; `whole` names the value itself. */
const problems = (error: z.ZodError, whole: string) => error.issues.map((issue) => `${issue.path.join('.') || whole}: ${issue.message}`).join('; ');

/** A Hono validator for a JSON body that answers 400 with "field: problem; ..." when it is invalid. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return validator('json', (value, c: Context) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data as z.infer<T>;
    return c.json({ error: `invalid request body: ${problems(parsed.error, 'body')}` }, 400);
  });
}

/** A Hono validator for the query string, answering 400 "invalid query: field: problem" like {@link jsonBody}. */
export function queryParams<T extends z.ZodType>(schema: T) {
  return validator('query', (value, c: Context) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data as z.infer<T>;
    return c.json({ error: `invalid query: ${problems(parsed.error, 'query')}` }, 400);
  });
}
