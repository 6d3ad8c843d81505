/**
 * Where the run history lives: `$XDG_STATE_HOME/cmdrun/history.db`, by default
 * `~/.local/state/cmdrun/history.db` (XDG Base Directory Specification 0.8: "$XDG_STATE_HOME
 * defines the base directory relative to which user-specific state files should be stored. If
 * $XDG_STATE_HOME is either not set or empty, a default equal to $HOME/.local/state should be
 * used"; a relative path in the variable is invalid and ignored).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The default history database for `env` (process.env by default). */
export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME;
  const base = state && isAbsolute(state) ? state : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'cmdrun', 'history.db');
}

/**
 * The database a command uses: `--history <file>` (a string), none with `--no-history` (false),
 * else the default. Returns undefined for "no history".
 */
export function historyPath(flag: string | boolean | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag === false) return undefined;
  return typeof flag === 'string' ? resolve(flag) : defaultHistoryPath(env);
}
