/**
 * Checks of command-line input shared by `cmdrun` and `cmdrun run`. Each failure is a UsageError:
 * printed as one line, exit status 2.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { EXPECTED_TARGETS, parseTarget, TargetError, type Target } from '../session/target.js';
import { isFleet, parseFleet } from '../session/fleet-spec.js';

/** A usage error: printed as one line, exit status 2. */
export class UsageError extends Error {}

/**
 * commander parser for `--on`: a target (target.ts): `local`, `ssh://[user@]host[:port]`,
 * `docker://[user@]container` or `podman://[user@]container`; or a fleet as written (fleet-spec.ts:
 * `ssh://a,ssh://b`, `@web`), kept as its text.
 * @throws InvalidArgumentError (exit status 2) with parseTarget's reason for anything else.
 */
export function parseTargetOption(value: string): Target | string {
  try {
    if (isFleet(value)) {
      parseFleet(value);
      return value;
    }
    return parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof TargetError ? `${err.reason} (expected ${EXPECTED_TARGETS})` : (err as Error).message);
  }
}

/** commander parser for a port number 0-65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

/** commander parser for a whole number >= 1. */
export function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

/** commander parser for a size in bytes: a whole number, optionally with a K, M or G suffix (1024-based). */
export function parseBytes(value: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a size such as 5000000, 512K or 10M');
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  const bytes = Number(match[1]) * scale;
  if (bytes < 1024) throw new InvalidArgumentError('expected at least 1K');
  return bytes;
}

/** commander parser for a duration in seconds (> 0, fractions allowed). */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds > 0');
  return n;
}

/**
 * Checks a script path. With `mayNotExist`, a missing file is fine (created on first save) if its
 * folder exists. A directory or an unreadable file is always an error.
 * @throws UsageError
 */
export function checkScript(path: string, mayNotExist: boolean): void {
  let info;
  try {
    info = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot open ${path}: ${(err as Error).message}`);
    if (!mayNotExist) throw new UsageError(`${path}: no such file`);
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

/**
 * The sessions' first directories for the script at `path` (absolute): `cwd`, the local shell's
 * (checked), is `--cwd` or the script's folder; with a remote `--on`, `--cwd` names a directory on
 * that machine instead (`remoteCwd`, '' for the remote home) and the local shell (a block's
 * `on="local"`) starts in the script's folder.
 * @throws UsageError when the local directory is not one.
 */
export function sessionDirs(path: string, flags: { cwd?: string; on?: Target | string }): { cwd: string; remoteCwd?: string } {
  const remote = typeof flags.on === 'object' && flags.on.kind !== 'local';
  const cwd = resolve(remote ? dirname(path) : (flags.cwd ?? dirname(path)));
  checkDir(cwd);
  return remote ? { cwd, remoteCwd: flags.cwd ?? '' } : { cwd };
}

/** @throws UsageError unless `path` is a directory. */
export function checkDir(path: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--cwd ${path} is not a directory`);
}
