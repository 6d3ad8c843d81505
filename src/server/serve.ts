/**
 * Starting and stopping the notebook server: a shell session, its run queue, and the Hono app
 * listening on a port.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import { HistoryRecorder } from '../history/recorder.js';
import type { Splitters } from '../blocks/parser.js';
import type { HistoryStore } from '../history/store.js';
import { RunQueue } from '../runs/run-queue.js';
import type { Run } from '../runs/run.js';
import { ApiAsker, NotebookEnv, prepareFleetRun, prepareRun, type GivenValue } from '../runs/inputs.js';
import type { InventoryOptions } from '../session/inventory.js';
import { isSecretName } from '../blocks/params.js';
import { SessionPool } from '../session/pool.js';
import type { ShellSession } from '../session/session.js';
import type { Target } from '../session/target.js';
import type { FileWatcher } from './file-watch.js';
import { isNotebookFile } from '../blocks/ipynb.js';
import type { CellResult } from '../blocks/ipynb-view.js';
import { ScriptFile } from './script-file.js';

/**
 * The modules of the HTTP server (hono, @hono/node-server and the app: ~40 ms of loading), imported
 * while the shell starts in its own process instead of before it.
 */
const serverModules = () =>
  Promise.all([import('@hono/node-server'), import('./app.js'), import('./file-watch.js'), import('./guards.js')]);

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** The script to serve (absolute path); it may not exist yet. */
  file: string;
  /** The script's name as the user gave it: the shell's `$0` (default: the file's base name). */
  scriptName?: string;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 = any free port; default: a free port preferring 8765-8799. */
  port?: number;
  shell?: string;
  /** Working directory of the local session's shell. */
  cwd: string;
  /** Where blocks run by default (`--on`); default this machine. */
  on?: Target;
  /** The first directory on `on` when it is remote; '' (default) for the remote user's home. */
  remoteCwd?: string;
  /** The command that runs ssh (`--ssh-command`, CMDRUN_SSH_COMMAND). */
  sshCommand?: string;
  /** The command that runs docker (`--docker-command`, CMDRUN_DOCKER_COMMAND). */
  dockerCommand?: string;
  /** The command that runs podman (`--podman-command`, CMDRUN_PODMAN_COMMAND). */
  podmanCommand?: string;
  /** Bearer token; default: 32 random bytes, base64url. */
  token?: string;
  /** Folder of the built page. */
  webRoot: string;
  version: string;
  /** Finished runs kept for GET /api/runs and replay (default 200). */
  maxRuns?: number;
  /** Output kept per run, in bytes (default 5 MiB): the first fifth and the last four fifths. */
  maxRunOutput?: number;
  /** Output kept by all runs together, in bytes (default 512 MiB): past it the oldest finished runs are forgotten (RunQueueOptions.maxKeptOutput). */
  maxKeptOutput?: number;
  /**
   * Where to record runs, or a function that opens it (called once the server listens: API
   * requests but health wait for it; it may resolve to undefined: no history); none: no history.
   * The server closes it.
   */
  history?: HistoryStore | (() => Promise<HistoryStore | undefined>);
  /** The script's history is pruned past this size (~bytes; default 100 MiB). */
  historyMax?: number;
  /** `--env` and `--env-file` values: exported into every session, and secrets among them masked. */
  env?: GivenValue[];
  /** Where runs that name no target run when that is a fleet (`--on @web`); `on` is then this machine. */
  defaultFleet?: string;
  /** Where a fleet's `@GROUP`s are looked up (`--inventory`). */
  inventory?: InventoryOptions;
  /** Hosts of a fleet run connecting or running at once (`--forks`; default 20). */
  forks?: number;
}

/** Default of {@link ServerOptions.maxRunOutput}. */
export const DEFAULT_MAX_RUN_OUTPUT = 5 * 1024 * 1024;

/** A listening server. */
export interface RunningServer {
  /** `http://HOST:PORT/#token=TOKEN`, the URL to open. */
  url: string;
  /** `http://HOST:PORT`. */
  origin: string;
  port: number;
  token: string;
  /** The default session. */
  session: ShellSession;
  /** Every session of the notebook, by target. */
  sessions: SessionPool;
  /** Reports changes of the script made by other programs (GET /api/file/events). */
  fileWatcher: FileWatcher;
  /**
   * Closes streams and connections, stops the file watcher, kills the shell's processes, removes
   * temp files.
   */
  close(): Promise<void>;
}

/** Formats a host for a URL (IPv6 addresses in brackets). */
export const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/**
 * Starts the session and the server, and resolves once it listens.
 * @throws Error when the port is taken (EADDRINUSE) or the shell cannot start.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  // The shell boots (~10-15 ms) while the server's modules load and the port is looked for.
  const env = new NotebookEnv(options.env ?? [], isSecretName);
  const starting = SessionPool.start(options.on ?? { kind: 'local' }, {
    session: { shell: options.shell, cwd: options.cwd, scriptName: options.scriptName ?? basename(options.file), env: { ...process.env, ...env.exported() } },
    remoteCwd: options.remoteCwd,
    sshCommand: options.sshCommand,
    dockerCommand: options.dockerCommand,
    podmanCommand: options.podmanCommand,
  });
  starting.catch(() => {}); // handled below: a shell that cannot start is no unhandled rejection meanwhile
  let wanted: number;
  let modules: Awaited<ReturnType<typeof serverModules>>;
  let sessions: SessionPool;
  try {
    modules = await serverModules();
    if (options.port !== undefined) wanted = options.port;
    else {
      const { default: getPort, portNumbers } = await import('get-port');
      wanted = await getPort({ port: portNumbers(8765, 8799), host });
    }
    sessions = await starting;
  } catch (err) {
    if (typeof options.history === 'object') options.history.close();
    await (await starting.catch(() => undefined))?.close();
    throw err;
  }
  const session = sessions.default;
  const [{ serve }, { createApp }, { FileWatcher }, { allowedHosts, isWildcard }] = modules;
  const maxOutput = options.maxRunOutput ?? DEFAULT_MAX_RUN_OUTPUT;
  const outputLimits = { headChars: Math.floor(maxOutput / 5), tailChars: maxOutput - Math.floor(maxOutput / 5) };
  const warn = (message: string) => process.stderr.write(`${message}\n`);
  const recorder = (store: HistoryStore | undefined) =>
    store && new HistoryRecorder(store, { script: options.file, shell: session.shell }, { limits: outputLimits, maxScriptChars: options.historyMax, warn });
  let history = typeof options.history === 'function' ? undefined : recorder(options.history);
  // Every run is recorded: none is posted before the history is open (`ready`).
  // The bash grammar loads on first use, once for both its users: the first block that says
  // `return` (its top-level ones are found) and the first export (the script's blocks).
  let splitters: Promise<Splitters> | undefined;
  const files = { runtime: join(options.webRoot, 'web-tree-sitter.wasm'), bash: join(options.webRoot, 'tree-sitter-bash.wasm') };
  const grammar = () => (splitters ??= import('../blocks/parser.js').then(({ documentKind, loadSplitters }) => loadSplitters(files, { frontMatter: documentKind(options.file) === 'markdown' })));
  const topLevelReturns = async () => (await grammar()).topLevelReturns;
  const asker = new ApiAsker();
  const parameters = async (code: string, secret?: readonly string[]) => (await grammar()).parameters(code, secret);
  const prepare = (run: Run, s: ShellSession, signal: AbortSignal) => prepareRun(run, s, signal, { env, asker, parameters });
  const prepareFleet = (run: Run, signal: AbortSignal) => prepareFleetRun(run, signal, { env, asker, parameters });
  const runs = new RunQueue(sessions, {
    maxRuns: options.maxRuns,
    maxKeptOutput: options.maxKeptOutput,
    outputLimits,
    onRun: (run) => history?.track(run),
    topLevelReturns,
    secrets: env.secrets,
    prepare,
    prepareFleet,
    forks: options.forks,
    inventory: options.inventory,
    defaultFleet: options.defaultFleet,
  });
  // A function opens the history once the server listens: loading SQLite and opening the
  // database (~10-15 ms) need not hold up the URL, the browser and health.
  const openHistory = options.history;
  let listening = () => {};
  const historyOpen =
    typeof openHistory === 'function'
      ? new Promise<void>((resolve) => (listening = resolve)).then(async () => {
          history = recorder(await openHistory().catch((err: Error) => void warn(`cmdrun: warning: history is off: ${err.message.split('\n')[0]}`)));
        })
      : undefined;
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // every open event stream listens for it (sse.ts)
  // A notebook is edited as its Markdown view; a save writes the outputs of this session's runs.
  // (Its code, @lezer/markdown and the transcript's, loads only then.)
  const file = isNotebookFile(options.file) ? await notebookFile(options.file, runs) : new ScriptFile(options.file);
  const watcher = new FileWatcher(file);
  let hosts = new Set<string>(); // fixed once the port is known; no request comes before that
  const app = createApp({
    token,
    hosts: () => hosts,
    runs,
    file,
    watcher,
    webRoot: options.webRoot,
    grammar,
    version: options.version,
    shutdown: shutdown.signal,
    history: () => history,
    ready: historyOpen,
    inputs: { env, asker },
    inventory: options.inventory,
  });
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: host, port: wanted }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    await Promise.all([sessions.close(), watcher.close()]);
    history?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${wanted} is already in use on ${host}`);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  listening();
  // A wildcard bind is reachable on loopback too, and browsers refuse to open 0.0.0.0.
  const origin = `http://${urlHost(isWildcard(host) ? '127.0.0.1' : host)}:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    session,
    sessions,
    fileWatcher: watcher,
    async close() {
      // Open streams send `shutdown` and end, and the file watcher stops; then connections close
      // and the shell is killed (SIGTERM, SIGKILL after 2 s). Streams get 200 ms to flush their
      // last event.
      shutdown.abort();
      await watcher.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await Promise.all([sessions.close(), new Promise((resolve) => setTimeout(resolve, 200))]);
      if ('closeAllConnections' in server) server.closeAllConnections();
      await closed;
      await historyOpen;
      history?.close(); // after the shell: a block it was running ends and is recorded
    },
  };
}

/**
 * The opened notebook (NotebookFile). A save gives each code cell what its code last gave in this
 * session: the newest finished run of that code (not cancelled) and its execution count, its place
 * among the session's started runs (as Jupyter's `[n]`).
 */
async function notebookFile(path: string, runs: RunQueue): Promise<ScriptFile> {
  const [{ NotebookFile }, { transcriptRun }, { cellRun }] = await Promise.all([import('./notebook-file.js'), import('../history/transcript.js'), import('../history/notebook-report.js')]);
  const results: CellResult = (code) => {
    const started = runs.list().filter((run) => run.status !== 'queued' && !transcriptRun(run).cancelled);
    for (let i = started.length - 1; i >= 0; i--) {
      const run = transcriptRun(started[i]);
      if (started[i].request.code === code && run.finished) return { run: cellRun(run), count: i + 1 };
    }
    return undefined;
  };
  return new NotebookFile(path, results);
}
