/**
 * Validating JSON bodies (schemas.ts) with an answer of 400 "field: problem; ..." for an invalid
 * one. zod takes ~40 ms to import: the schemas are loaded when the app is built, in the
 * background, so the server answers its first request (health) without waiting for them; a
 * request with a body waits for them if it comes first.
 */
import type { Context } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import type { bodies as Bodies } from './schemas.js';

type Schemas = typeof Bodies;

let loading: Promise<Schemas> | undefined;

/** Starts loading the schemas (once) and resolves to them. */
export function loadSchemas(): Promise<Schemas> {
  loading ??= import('./schemas.js').then((m) => m.bodies);
  return loading;
}

/** A Hono validator for the JSON body `name` that answers 400 with "field: problem; ..." when it is invalid. */
export function jsonBody<K extends keyof Schemas>(name: K) {
  return validator('json', async (value, c: Context) => {
    const parsed = (await loadSchemas())[name].safeParse(value);
    if (parsed.success) return parsed.data as z.infer<Schemas[K]>;
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    return c.json({ error: `invalid request body: ${problems.join('; ')}` }, 400);
  });
}
