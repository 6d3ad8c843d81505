/**
 * The `cmdrun` command line (shared/notes/api.md, "CLI"). Parses arguments with commander, checks
 * the file, starts the server, prints the URL, opens the browser, and shuts down on SIGINT/SIGTERM.
 */
import { statSync, accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import open from 'open';
import { startServer } from '../server/serve.js';

declare const __CMDRUN_VERSION__: string | undefined;
const VERSION = typeof __CMDRUN_VERSION__ === 'string' ? __CMDRUN_VERSION__ : '0.0.0-dev';

/** A usage error: printed as one line, exit status 2. */
class UsageError extends Error {}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

/**
 * Checks the script path: it may not exist yet (created on first save), but it must not be a
 * directory or unreadable, and its folder must exist.
 * @throws UsageError
 */
function checkScript(path: string): void {
  let info;
  try {
    info = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot open ${path}: ${(err as Error).message}`);
    try {
      if (!statSync(dirname(path)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new UsageError(`cannot create ${path}: its folder does not exist`);
    }
    return;
  }
  if (info.isDirectory()) throw new UsageError(`${path} is a directory, not a script`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`cannot read ${path}: permission denied`);
  }
}

function checkDir(path: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--cwd ${path} is not a directory`);
}

interface ServeFlags {
  port?: number;
  host: string;
  browser: boolean;
  shell: string;
  cwd?: string;
  token?: string;
}

async function serveCommand(file: string | undefined, flags: ServeFlags): Promise<void> {
  const path = resolve(file ?? 'untitled.sh');
  checkScript(path);
  const cwd = resolve(flags.cwd ?? dirname(path));
  checkDir(cwd);
  let server;
  try {
    server = await startServer({
      file: path,
      host: flags.host,
      port: flags.port,
      shell: flags.shell,
      cwd,
      token: flags.token,
      webRoot: fileURLToPath(new URL('./web/', import.meta.url)),
      version: VERSION,
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
  const stop = async () => {
    if (stopping) process.exit(0); // a second Ctrl-C does not wait
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3000);
    await server.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  if (flags.browser) {
    try {
      await open(server.url);
    } catch (err) {
      process.stderr.write(`cmdrun: could not open a browser (${(err as Error).message}); open the URL above.\n`);
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Builds the commander program. */
export function program(): Command {
  return new Command('cmdrun')
    .description('A notebook for shell scripts: run a script block by block in one persistent shell.')
    .version(VERSION)
    .argument('[file]', 'the script to open (created on first save if it does not exist)')
    .option('--port <n>', 'port to listen on; 0 = any free port (default: a free port in 8765-8799)', parsePort)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--no-browser', 'do not open a browser; print the URL only')
    .option('--shell <shell>', 'shell to run blocks in', 'bash')
    .option('--cwd <dir>', "working directory of the shell (default: the script's folder)")
    .option('--token <token>', 'API token (default: 32 random bytes)')
    .action(serveCommand);
}

/** Runs the CLI with `argv` (process.argv shape); usage errors print one line and exit 2. */
export async function main(argv: string[]): Promise<void> {
  const cli = program();
  cli.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cmdrun: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

await main(process.argv);
