/**
 * The `cmdrun` command line (shared/notes/api.md, "CLI"): arguments with commander, then the
 * notebook server (serve.ts) or the headless runner (run.ts). Usage errors print one line and
 * exit with status 2; no stack trace unless --debug. Each command's code is imported when it runs,
 * so `cmdrun run` does not load the server (hono, zod: ~70 ms of module loading).
 */
import { Command, Option } from 'commander';
import { SUPPORTED_SHELLS } from '../session/shells.js';
import { parseBytes, parsePort, parsePositive, parseSeconds, parseTargetOption, UsageError } from './checks.js';
import { addHistoryCommand, historyOptions } from './history-command.js';
import { envOptions } from './env-options.js';

declare const __CMDRUN_VERSION__: string | undefined;
const VERSION = typeof __CMDRUN_VERSION__ === 'string' ? __CMDRUN_VERSION__ : '0.0.0-dev';

const shellOption = () => new Option('--shell <shell>', `shell to run blocks in (${SUPPORTED_SHELLS.join(', ')})`).default('bash');
/** `--on`, `--ssh-command`, `--docker-command`, `--podman-command`, `--inventory` and `--forks`, for both commands (README: "Targets", "Fleets"). */
const remoteOptions = (command: Command) =>
  command
    .option('--on <target>', 'where blocks run: local (default), ssh://[user@]host[:port] through your ssh, docker://[user@]container or podman://[user@]container through the engine\'s exec, or a fleet: targets joined by commas, @GROUP of an Ansible inventory', parseTargetOption)
    .addOption(new Option('--ssh-command <cmd>', 'the command that runs ssh, read by sh (e.g. "ssh -F ./ssh_config")').env('CMDRUN_SSH_COMMAND'))
    .addOption(new Option('--docker-command <cmd>', 'the command that runs docker, read by sh (e.g. "docker --context prod")').env('CMDRUN_DOCKER_COMMAND'))
    .addOption(new Option('--podman-command <cmd>', 'the command that runs podman, read by sh (e.g. "podman --remote")').env('CMDRUN_PODMAN_COMMAND'))
    .option('--inventory <file>', 'the Ansible inventory @GROUP targets come from, read by ansible-inventory (default: what Ansible reads, e.g. ANSIBLE_INVENTORY)')
    .option('--forks <n>', 'hosts of a fleet block connecting or running at once', parsePositive, 20);

/** Builds the commander program. */
export function program(): Command {
  const cli = new Command('cmdrun')
    .description('A notebook for shell scripts and Markdown runbooks: run a script, or the code fences of a .md file, block by block in one persistent shell.')
    .version(VERSION)
    .option('--debug', 'print stack traces of unexpected errors')
    .argument('[file]', 'the script or Markdown runbook to open (created on first save if it does not exist)')
    .option('--port <n>', 'port to listen on; 0 = any free port (default: a free port in 8765-8799)', parsePort)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--no-browser', 'do not open a browser; print the URL only')
    .addOption(shellOption())
    .option('--cwd <dir>', "working directory of the shell (default: the script's folder; with --on ssh://... or a container, a directory there, default the user's home there)")
    .option('--token <token>', 'API token (default: 32 random bytes)')
    .option('--max-runs <n>', 'finished runs kept for replay and page reloads', parsePositive, 200)
    .option('--max-run-output <size>', 'output kept per run: its first fifth and last four fifths (e.g. 5M)', parseBytes, 5 * 1024 * 1024)
    .option('--max-kept-output <size>', 'output kept by all runs together; past it the oldest finished runs are forgotten (e.g. 512M)', parseBytes, 512 * 1024 * 1024);
  historyOptions(remoteOptions(envOptions(cli)))
    .action(async (file, flags) => (await import('./serve.js')).serveCommand(file, flags, VERSION))
    // Options after `run` are run's own (both have --shell and --cwd).
    .enablePositionalOptions()
    // Set before .command(): subcommands copy these settings when they are created.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error:/, 'cmdrun:')) });
  const run = cli
    .command('run')
    .description('run every block in order in one shell, printing output to stdout; exit with the first failing status')
    .argument('<file>', 'the script, Markdown runbook or bash Jupyter notebook (.ipynb) to run')
    .addOption(shellOption())
    .option('--cwd <dir>', "working directory of the shell (default: the script's folder; with --on ssh://... or a container, a directory there, default the user's home there)")
    .option('--from <n>', 'first block to run (1-based)', parsePositive)
    .option('--to <n>', 'last block to run (1-based)', parsePositive)
    // Repeatable, not variadic: `--block a FILE` keeps FILE as the file.
    .option('--block <title>', 'run only the block(s) with this title: a # %% title, a Markdown fence\'s name or heading, or a notebook cell\'s name or tag; repeat for several (they run in document order)', (title: string, earlier: string[] = []) => [...earlier, title])
    .option('--list', "print each block's number, title and lines; run nothing", false)
    .option('--timeout <seconds>', 'interrupt a block that runs longer than this', parseSeconds)
    .option('--keep-going', 'run every block even after one fails; exit with the first failure', false)
    .option('--quiet', 'no header line before each block', false)
    .option('--json', 'print one JSON line per event (the SSE events of the API) instead of output', false)
    .option('--no-color', 'strip colours and other escape sequences from the output (also: NO_COLOR)')
    .option('--report <file>', 'write a transcript of the runs: out.html (self-contained), out.md or out.ipynb (a Jupyter notebook)')
    .option('--write-outputs', "write each block's output into the runbook under its fence (a notebook: into its cells)", false)
    .option('--write-outputs-lines <n>', 'lines of one output kept in the document: its first and last ones', parsePositive, 200)
    .option('--clear-outputs', 'remove the outputs written into the runbook (or notebook) and run nothing', false)
    .option('--yes', 'run blocks marked confirm= without asking')
    .option('--group', "a fleet block's output grouped when it ends (each distinct output once, under its hosts) instead of prefixed lines", false);
  historyOptions(remoteOptions(envOptions(run))).action(async (file, flags, command: Command) =>
    (await import('./run.js')).runCommand(file, { ...flags, shellGiven: command.getOptionValueSource('shell') === 'cli' }, VERSION),
  );
  addHistoryCommand(cli);
  return cli;
}

/** Runs the CLI with `argv` (process.argv shape). */
export async function main(argv: string[]): Promise<void> {
  const cli = program();
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cmdrun: ${err.message}\n`);
      process.exit(2);
    }
    if (argv.includes('--debug')) throw err;
    process.stderr.write(`cmdrun: ${(err as Error).message} (--debug shows where)\n`);
    process.exit(1);
  }
}

await main(process.argv);
