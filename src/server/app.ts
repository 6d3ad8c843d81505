/**
 * The HTTP API and the page, as one Hono app (routes: shared/notes/api.md). Data flows one way:
 * request -> run queue -> shell -> run events -> SSE response.
 */
import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Splitters } from '../blocks/parser.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { RunQueue } from '../runs/run-queue.js';
import type { ShellSession } from '../session/session.js';
import { type FileWatcher, streamFileChanges } from './file-watch.js';
import { bearerToken, hostAndOriginGuard, jsonOnly, noStore, pageHeaders } from './guards.js';
import { jsonBody, loadSchemas, queryParams } from './validate.js';
import { historyRoutes } from './history-routes.js';
import { FileConflictError, type ScriptFile } from './script-file.js';
import { lastEventId, streamRun } from './sse.js';
import { paramsRoutes, type InputDeps } from './params-routes.js';
import type { Run } from '../runs/run.js';
import { groupHosts } from '../runs/host-output.js';
import { isFleet } from '../session/fleet-spec.js';
import { FleetError, resolveFleet, type InventoryOptions, type ResolvedFleet } from '../session/inventory.js';
import { TargetError } from '../session/target.js';

/** Largest accepted body of POST /api/runs and other small requests (bytes). */
export const MAX_RUN_BODY = 1024 * 1024;
/** Largest accepted body of PUT /api/file (bytes). */
export const MAX_FILE_BODY = 10 * 1024 * 1024;

/** What the app serves. */
export interface AppDeps {
  token: string;
  /** Host header values to accept (see allowedHosts); a function because the port is known late. */
  hosts: () => Set<string>;
  /** The run queue; its sessions (runs.sessions) are the notebook's, by target. */
  runs: RunQueue;
  file: ScriptFile;
  /** Reports changes of `file` made by other programs (GET /api/file/events). */
  watcher: FileWatcher;
  /** Folder of the built page (dist/web). */
  webRoot: string;
  /** The bash grammar and the splitters made from it, loaded on first use (~20 ms of imports). */
  grammar: () => Promise<Splitters>;
  version: string;
  /** Aborted when the server stops: open event streams send `shutdown` and close. */
  shutdown: AbortSignal;
  /** The run history of the script; undefined when it is off (read once `ready` has resolved). */
  history: () => HistoryRecorder | undefined;
  /**
   * Resolves once the API is ready (the history is open, after the server started listening):
   * every API request but health waits for it. None: ready at once.
   */
  ready?: Promise<void>;
  /** The notebook's parameters and who waits for answers (params-routes.ts); none: those routes are 404. */
  inputs?: InputDeps;
  /** Where a fleet's `@GROUP`s are looked up (`--inventory`). */
  inventory?: InventoryOptions;
}

/** The most of an over-limit body that is read and dropped before the 413 (bytes)... */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
/** ...and for how long at most (ms): a client that stops sending gets its answer then. */
const MAX_DRAIN_MS = 30_000;

/**
 * Reads the rest of a request's body, keeping it only while it is at most `keep` bytes, and
 * dropping the rest: the body (or undefined past `keep`), and whether it was read to its end
 * (false when it stopped short: past {@link MAX_DRAIN_BYTES} or {@link MAX_DRAIN_MS}, or the
 * request failed).
 */
function readBody(incoming: IncomingMessage, keep: number): Promise<{ body?: Buffer; ended: boolean }> {
  if (incoming.readableEnded) return Promise.resolve({ body: Buffer.alloc(0), ended: true });
  if (incoming.destroyed) return Promise.resolve({ ended: false });
  return new Promise((resolve) => {
    let bytes = 0;
    let chunks: Buffer[] | undefined = [];
    const done = (ended: boolean) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      if (!ended) incoming.pause();
      resolve({ body: chunks && Buffer.concat(chunks), ended });
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > keep) chunks = undefined;
      else chunks?.push(chunk);
      if (bytes > MAX_DRAIN_BYTES) done(false);
    };
    const onEnd = () => done(true);
    const onFail = () => done(incoming.readableEnded);
    const timer = setTimeout(onFail, MAX_DRAIN_MS);
    incoming.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onFail);
    incoming.resume();
  });
}

/**
 * 413 past `limit` bytes, with its message, whatever the client does meanwhile. The rest of the
 * body is read and dropped first (up to 64 MiB, 30 s), and the connection stays open: closed with
 * body bytes unread, it is reset (TCP RST), and a client that sends the whole body before it reads
 * (Python's urllib, most scripts) lost the answer to a "broken pipe" or "connection reset". Only a
 * body past that bound is answered without it, with `Connection: close`.
 *
 * A body with a Content-Length (and no Transfer-Encoding) is judged by that header alone, and read
 * by the route from Node's request (`c.req.json()`; a web Request's body stream cost ~0.14 ms a
 * request). Other bodies (chunked) are read here, counted as they come, and handed on as the
 * request's body.
 */
const tooLarge = (limit: number): MiddlewareHandler => {
  const answer = (c: Context, ended: boolean) =>
    c.json({ error: `request body larger than ${limit} bytes` }, 413, ended ? {} : { Connection: 'close' });
  return async (c, next) => {
    const { headers } = c.req.raw;
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (headers.has('content-length') && !headers.has('transfer-encoding')) {
      const declared = parseInt(headers.get('content-length') || '0', 10);
      if (declared <= limit) return next();
      return answer(c, incoming !== undefined && declared <= MAX_DRAIN_BYTES && (await readBody(incoming, 0)).ended);
    }
    if (!incoming) return next();
    const { body, ended } = await readBody(incoming, limit);
    if (!body) return answer(c, ended);
    if (!ended) return c.json({ error: 'the request body ended early' }, 400, { Connection: 'close' });
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: new Uint8Array(body) });
    return next();
  };
};

/** Builds the app. Every request passes the Host/Origin guard; /api routes but health need the token. */
export function createApp(deps: AppDeps): Hono {
  const { runs, file } = deps;
  const sessions = runs.sessions;
  void loadSchemas();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));

  app.use(hostAndOriginGuard(deps.hosts));
  app.use(pageHeaders);

  const api = new Hono();
  api.use(noStore);
  api.get('/health', (c) => c.json({ status: 'ok', version: deps.version }));
  api.use(bearerToken(deps.token));
  api.use(jsonOnly);
  if (deps.ready) {
    let ready: Promise<void> | undefined = deps.ready;
    void ready.then(() => (ready = undefined));
    api.use(async (_c, next) => {
      if (ready) await ready;
      await next();
    });
  }

  api.get('/file', async (c) => c.json(await file.read()));
  api.get('/file/events', (c) => streamFileChanges(c, deps.watcher, deps.shutdown));
  api.put('/file', tooLarge(MAX_FILE_BODY), jsonBody('file'), async (c) => {
    const { content, baseMtimeMs } = c.req.valid('json');
    try {
      return c.json({ mtimeMs: await file.save(content, baseMtimeMs) });
    } catch (err) {
      if (err instanceof FileConflictError) {
        return c.json({ error: err.message, mtimeMs: err.currentMtimeMs }, 409);
      }
      return c.json({ error: `could not save ${file.path}: ${(err as Error).message}` }, 500);
    }
  });

  const sessionJson = (session: ShellSession) => ({
    shell: session.shell,
    pid: session.pid ?? null,
    cwd: session.cwd,
    status: session.status,
    on: session.target,
    default: session === sessions.default,
  });
  api.get('/session', (c) => c.json(sessionJson(sessions.default)));
  api.get('/sessions', (c) => c.json({ sessions: sessions.list().map(sessionJson) }));
  // Output printed while no block ran (background jobs), from Last-Event-ID on; it never ends.
  api.get('/session/output', (c) => streamRun(c, runs.background, lastEventId(c), deps.shutdown));
  // Runs still queued are cancelled: they were meant for the old shell's state.
  api.post('/session/restart', tooLarge(MAX_RUN_BODY), jsonBody('restart'), async (c) => {
    const { on, all } = c.req.valid('json');
    runs.cancelQueued();
    if (all) {
      await Promise.all(sessions.list().map((s) => s.restart()));
      return c.json({ sessions: sessions.list().map(sessionJson) });
    }
    const session = await sessions.get(on);
    await session.restart();
    return c.json(sessionJson(session));
  });

  api.get('/runs', (c) => c.json(runs.list().map((run) => run.summary())));
  // The run's event stream; or, for a client that asks for JSON only (Accept: application/json),
  // 202 {runId, status} so it can follow the run later with GET /api/runs/:runId/events.
  // A fleet (`on` with a comma, or `@GROUP`) is resolved first: an unknown group is a 400.
  const answerRun = (c: Context, run: Run) => {
    const accept = c.req.header('accept') ?? '';
    if (accept.includes('application/json') && !accept.includes('text/event-stream')) {
      return c.json({ runId: run.runId, status: run.status }, 202);
    }
    return streamRun(c, run, 0, deps.shutdown);
  };
  api.post('/runs', tooLarge(MAX_RUN_BODY), jsonBody('run'), async (c) => {
    const request = c.req.valid('json');
    const on = request.on ?? runs.defaultFleet;
    let fleet: ResolvedFleet | undefined;
    if (on !== undefined && isFleet(on) && !(request.runId !== undefined && runs.get(request.runId))) {
      try {
        fleet = await resolveFleet(on, deps.inventory);
      } catch (err) {
        if (err instanceof FleetError || err instanceof TargetError) return c.json({ error: err.message }, 400);
        throw err;
      }
    }
    return answerRun(c, runs.submit(request, fleet));
  });
  api.post('/runs/:runId/rerun-failed', tooLarge(MAX_RUN_BODY), jsonBody('rerun'), (c) => {
    const run = runs.rerunFailed(c.req.param('runId'), c.req.valid('json'));
    if ('error' in run) return c.json({ error: run.error }, run.status);
    return answerRun(c, run);
  });
  /** The 400 for a `target` that is not a host of fleet run `run` (a single-target run has none). */
  const notAHost = (c: Context, run: Run, target: string) => (run.fleet?.hosts.some((h) => h.target === target) ? undefined : c.json({ error: `no host ${target} in the run` }, 400));
  // `?output=TARGET`: a fleet run's stream with only that host's output (host-output.ts).
  api.get('/runs/:runId/events', (c) => {
    const run = runs.get(c.req.param('runId'));
    if (!run) return c.json({ error: 'no such run' }, 404);
    const output = c.req.query('output');
    // A fleet not resolved yet (a default fleet, at the run's turn) cannot say which hosts it has.
    const bad = output !== undefined && run.fleet ? notAHost(c, run, output) : undefined;
    return bad ?? streamRun(c, run, lastEventId(c), deps.shutdown, output);
  });
  // A host's kept output through event `lastId` (a single-target run's output with no target).
  api.get('/runs/:runId/output', (c) => {
    const runId = c.req.param('runId');
    const run = runs.get(runId);
    if (!run) return c.json({ error: 'no such run' }, 404);
    const target = c.req.query('target');
    if (target === undefined && run.fleet) return c.json({ error: "target: a fleet run's output is kept per host: name its target" }, 400);
    const bad = target !== undefined ? notAHost(c, run, target) : undefined;
    return bad ?? c.json({ runId, ...(target !== undefined ? { target } : {}), ...run.outputOf(target) });
  });
  // Every host's output grouped by identical text and outcome, failing groups first.
  api.get('/runs/:runId/groups', queryParams('groups'), (c) => {
    const runId = c.req.param('runId');
    const run = runs.get(runId);
    if (!run) return c.json({ error: 'no such run' }, 404);
    const groups = groupHosts(run, c.req.valid('query').lines);
    return groups ? c.json({ runId, groups }) : c.json({ error: 'not a fleet run' }, 400);
  });
  api.post('/runs/:runId/interrupt', tooLarge(MAX_RUN_BODY), async (c) => {
    const runId = c.req.param('runId');
    const run = runs.get(runId);
    if (!run) return c.json({ error: 'no such run' }, 404);
    // The body is optional ({} or none); `target` names one host of a fleet run.
    const text = await c.req.text();
    let body: unknown = {};
    try {
      if (text.trim()) body = JSON.parse(text);
    } catch {
      return c.json({ error: 'invalid request body: not JSON' }, 400);
    }
    const parsed = (await loadSchemas()).interruptBody.safeParse(body);
    if (!parsed.success) return c.json({ error: `invalid request body: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` }, 400);
    const { target } = parsed.data;
    const bad = target !== undefined ? notAHost(c, run, target) : undefined;
    return bad ?? c.json({ runId, interrupted: runs.interrupt(runId, target) });
  });
  api.post('/runs/:runId/input', tooLarge(MAX_RUN_BODY), jsonBody('input'), (c) => {
    const runId = c.req.param('runId');
    const run = runs.get(runId);
    if (!run) return c.json({ error: 'no such run' }, 404);
    const { data, target } = c.req.valid('json');
    if (run.fleet && target === undefined) return c.json({ error: 'target: a fleet run takes input for one host: name its target' }, 400);
    const bad = target !== undefined ? notAHost(c, run, target) : undefined;
    if (bad) return bad;
    if (!runs.input(runId, data, target)) return c.json({ error: target === undefined ? 'the run is not running' : `${target} is not running` }, 409);
    return c.json({ runId, delivered: true });
  });

  const split = async () => (await deps.grammar()).forFile(file.path);
  historyRoutes(api, { history: deps.history, runs, file, split, version: deps.version });
  if (deps.inputs) paramsRoutes(api, deps.inputs, runs, tooLarge(MAX_RUN_BODY));

  app.route('/api', api);
  app.use('/*', serveStatic({ root: deps.webRoot }));
  return app;
}
