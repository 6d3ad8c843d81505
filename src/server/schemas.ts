/**
 * Request bodies of the HTTP API (shared/notes/api.md), validated with zod. An invalid body is a
 * 400 whose message names the field that is wrong.
 */
import { z } from 'zod';
import { INTERPRETERS } from '../session/session.js';
import { parseTarget } from '../session/target.js';
import { checkTargetOrFleet } from '../session/fleet-spec.js';

/** Run ids and batch ids: 1-64 characters of base64url. */
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"');

/** A target (target.ts): `local` or `ssh://[user@]host[:port]`; the 400 says what is wrong with it. */
const target = z.string().superRefine((text, ctx) => {
  try {
    parseTarget(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** A target or a fleet (fleet-spec.ts): `ssh://a,ssh://b`, `@web`; the 400 says what is wrong with it. */
const targetOrFleet = z.string().max(64 * 1024).superRefine((text, ctx) => {
  try {
    checkTargetOrFleet(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** POST /api/runs. */
export const runBody = z.strictObject({
  code: z.string(),
  runId: id.optional(),
  batch: id.optional(),
  lineStart: z.int().min(1).optional(),
  lineEnd: z.int().min(1).optional(),
  cols: z.int().min(20).max(1000).optional(),
  interpreter: z.enum(INTERPRETERS).optional(),
  title: z.string().max(1000).optional(),
  on: targetOrFleet.optional(),
  forks: z.int().min(1).max(10_000).optional(),
  promptEnv: z.enum(['auto', 'always', 'never']).optional(),
  secret: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name')).max(100).optional(),
  confirm: z.string().max(1000).optional(),
});

/** POST /api/runs/:runId/params: a value for every parameter asked. */
export const paramsBody = z.strictObject({ values: z.record(z.string(), z.string()) });

/** POST /api/runs/:runId/confirm. */
export const confirmBody = z.strictObject({ yes: z.boolean() });

/** POST /api/session/restart: the session of `on` (default: the notebook's), or every one (`all`). */
export const restartBody = z.strictObject({ on: target.optional(), all: z.boolean().optional() });

/** PUT /api/file: the new content, and the mtimeMs it was based on (null: the file did not exist). */
export const fileBody = z.strictObject({
  content: z.string(),
  baseMtimeMs: z.number().nullable(),
});

/** POST /api/runs/:runId/input: `target` names the host of a fleet run. */
export const inputBody = z.strictObject({ data: z.string(), target: z.string().max(1000).optional() });

/** POST /api/runs/:runId/interrupt: `target` names one host of a fleet run (none: every host). */
export const interruptBody = z.strictObject({ target: z.string().max(1000).optional() });

/** POST /api/runs/:runId/rerun-failed: `runId` the new run's, chosen by the client as for POST /api/runs. */
export const rerunBody = z.strictObject({ cols: z.int().min(20).max(1000).optional(), runId: id.optional() });

/** GET /api/history: `on` a target or a fleet as written, matched exactly (as `cmdrun history --on`). */
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z.coerce.number().int().min(0).optional(),
  on: z.string().min(1).max(64 * 1024).optional(),
});

/** GET /api/runs/:runId/groups: `lines`, each group's output cut to its last lines. */
export const groupsQuery = z.strictObject({ lines: z.coerce.number().int().min(1).max(1_000_000).optional() });

/** GET /api/transcript. */
export const transcriptQuery = z.strictObject({ format: z.enum(['html', 'md', 'ipynb']).default('html') });

/** The bodies and queries, by name, for jsonBody and queryParams (validate.ts). */
export const bodies = { run: runBody, file: fileBody, input: inputBody, restart: restartBody, params: paramsBody, confirm: confirmBody, interrupt: interruptBody, rerun: rerunBody };
export const queries = { list: listQuery, transcript: transcriptQuery, groups: groupsQuery };
