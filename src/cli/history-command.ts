/**
 * The history's command-line options and the `cmdrun history` command (README "History"). Their
 * actions (history.ts, with SQLite) are imported when they run.
 */
import type { Command } from 'commander';
import { DEFAULT_HISTORY_MAX } from '../history/recorder.js';
import { parseBytes, parsePositive } from './checks.js';

const actions = () => import('./history.js');

/** The history flags as commander gives them: `history` is a path, false (--no-history) or absent. */
export interface HistoryFlags {
  history?: string | boolean;
  /** Bytes (--history-max). */
  historyMax: number;
}

/** Adds --history, --no-history and --history-max to `cmd`; returns it. */
export function historyOptions(cmd: Command): Command {
  return cmd
    .option('--history <file>', 'record runs in this database (default: $XDG_STATE_HOME/cmdrun/history.db)')
    .option('--no-history', 'record nothing on disk')
    .option('--history-max <size>', "history kept per script, oldest runs pruned first (e.g. 100M)", parseBytes, DEFAULT_HISTORY_MAX);
}

/** Adds `cmdrun history [file]`, `history show <runId>` and `history clear [file]` to `cli`. */
export function addHistoryCommand(cli: Command): void {
  const database = '--history <file>';
  const databaseHelp = 'the history database (default: $XDG_STATE_HOME/cmdrun/history.db)';
  const history = cli
    .command('history')
    .description('list earlier runs, newest first: of every script, or of one')
    .argument('[file]', 'only the runs of this script')
    .option('--search <text>', 'only runs whose code or output contains this text')
    .option('--limit <n>', 'at most this many runs', parsePositive, 50)
    .option('--on <target>', 'only runs on this target (ssh://db1, local), or the hosts of fleet runs written so (@web)')
    .option('--json', 'one JSON object a line', false)
    .option(database, databaseHelp)
    .action(async (file: string | undefined, flags: { search?: string; limit: number; json: boolean; history?: string; on?: string }) => (await actions()).list(file, flags));
  history
    .command('show')
    .description("print a run's code and output as it was (colours only on a terminal without NO_COLOR)")
    .argument('<runId>', 'the run id (as `cmdrun history` lists it)')
    .option(database, databaseHelp)
    .action(async (runId: string, flags: { history?: string }, cmd: Command) => (await actions()).show(runId, { history: flags.history ?? cmd.parent?.opts().history }));
  history
    .command('clear')
    .description('delete the history of one script, or all of it')
    .argument('[file]', 'only the runs of this script')
    .option(database, databaseHelp)
    .action(async (file: string | undefined, flags: { history?: string }, cmd: Command) => (await actions()).clear(file, { history: flags.history ?? cmd.parent?.opts().history }));
}
