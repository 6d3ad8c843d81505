/**
 * `cmdrun [file]`: serve the notebook, print the URL, open the browser, and shut down cleanly on
 * SIGINT/SIGTERM/SIGHUP (shared/notes/api.md, "CLI").
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkShellNotebook, isNotebookFile, NotebookError, parseNotebook } from '../blocks/ipynb.js';
import { historyPath } from '../history/paths.js';
import { startServer } from '../server/serve.js';
import { checkScript, sessionDirs, UsageError } from './checks.js';
import type { HistoryFlags } from './history-command.js';
import type { Target } from '../session/target.js';
import { givenValues, type EnvFlags } from './env-options.js';
import { FleetError, resolveFleet, type InventoryOptions } from '../session/inventory.js';

/**
 * Resolves a fleet given on the command line before anything starts.
 * @throws UsageError (exit status 2) for an unknown group, no Ansible, an inventory that does not load.
 */
export async function checkFleet(on: string, inventory: InventoryOptions): Promise<void> {
  try {
    await resolveFleet(on, inventory);
  } catch (err) {
    if (err instanceof FleetError) throw new UsageError(`--on ${on}: ${err.message}`);
    throw err;
  }
}

/** Options of `cmdrun [file]`. */
export interface ServeFlags extends HistoryFlags, EnvFlags {
  port?: number;
  host: string;
  browser: boolean;
  shell: string;
  cwd?: string;
  /** Where blocks run by default; with a remote target, `cwd` is a directory there; a fleet as written. */
  on?: Target | string;
  sshCommand?: string;
  /** `--inventory`: where @GROUP fleets are looked up. */
  inventory?: string;
  /** `--forks`: hosts of a fleet block connecting or running at once. */
  forks?: number;
  dockerCommand?: string;
  podmanCommand?: string;
  token?: string;
  maxRuns: number;
  maxRunOutput: number;
  maxKeptOutput: number;
}

export async function serveCommand(file: string | undefined, flags: ServeFlags, version: string): Promise<void> {
  const path = resolve(file ?? 'untitled.sh');
  checkScript(path, true);
  if (isNotebookFile(path) && existsSync(path)) {
    // Refused before anything starts: a notebook of another language, or no notebook at all.
    try {
      checkShellNotebook(parseNotebook(readFileSync(path, 'utf8'), basename(path)), basename(path));
    } catch (err) {
      if (err instanceof NotebookError) throw new UsageError(err.message);
      throw err;
    }
  }
  const { cwd, remoteCwd } = sessionDirs(path, flags);
  const inventory = flags.inventory !== undefined ? { inventory: resolve(flags.inventory) } : {};
  if (typeof flags.on === 'string') await checkFleet(flags.on, inventory);
  let server;
  const historyFile = historyPath(flags.history);
  const env = await givenValues(flags);
  try {
    server = await startServer({
      // SQLite loads, and the database opens, once the server listens.
      history: historyFile === undefined ? undefined : async () => (await import('../history/store.js')).openHistory(historyFile),
      historyMax: flags.historyMax,
      file: path,
      scriptName: file ?? 'untitled.sh',
      host: flags.host,
      port: flags.port,
      shell: flags.shell,
      cwd,
      on: typeof flags.on === 'string' ? undefined : flags.on,
      defaultFleet: typeof flags.on === 'string' ? flags.on : undefined,
      inventory,
      forks: flags.forks,
      remoteCwd,
      sshCommand: flags.sshCommand,
      dockerCommand: flags.dockerCommand,
      podmanCommand: flags.podmanCommand,
      token: flags.token,
      maxRuns: flags.maxRuns,
      maxRunOutput: flags.maxRunOutput,
      maxKeptOutput: flags.maxKeptOutput,
      env,
      webRoot: fileURLToPath(new URL('./web/', import.meta.url)),
      version,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!isLoopback(flags.host)) {
    process.stderr.write(
      `cmdrun: WARNING: listening on ${flags.host}: anyone who can reach this port and has the token can run commands as you.\n`,
    );
  }
  process.stdout.write(`cmdrun: ${server.url}\n`);
  let stopping = false;
  // A second Ctrl-C, or 3 s without a clean stop, kills everything at once.
  const force = () => {
    server.sessions.killNow();
    process.exit(0);
  };
  const stop = async () => {
    if (stopping) force();
    stopping = true;
    const timer = setTimeout(force, 3000);
    await server.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  if (flags.browser) {
    try {
      const { default: open } = await import('open'); // after the URL is out: ~6 ms of loading
      await open(server.url);
    } catch (err) {
      process.stderr.write(`cmdrun: could not open a browser (${(err as Error).message}); open the URL above.\n`);
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

