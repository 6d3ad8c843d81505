/**
 * `--env NAME=VALUE` and `--env-file FILE` (both repeatable), for `cmdrun FILE` and `cmdrun run
 * FILE`: values exported into every session before its first block, which answer the blocks that
 * ask for them (README: "Parameters and secrets"). Env files are read with dotenv (its syntax:
 * `NAME=value`, quotes, `#` comments, `export ` prefixes, multi-line quoted values). Nothing is
 * read from a file unless asked.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { VARIABLE_NAME } from '../blocks/params.js';
import type { GivenValue } from '../runs/inputs.js';
import { UsageError } from './checks.js';

/** The flags these options add. */
export interface EnvFlags {
  /** `--env` values, in order. */
  env?: Array<{ name: string; value: string }>;
  /** `--env-file` paths, in order. */
  envFile?: string[];
}

/**
 * commander parser for one `--env NAME=VALUE` (collected in order).
 * @throws InvalidArgumentError (exit status 2) without `=` or with an invalid variable name
 */
function parseEnvOption(text: string, previous: EnvFlags['env'] = []): NonNullable<EnvFlags['env']> {
  const eq = text.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`expected NAME=VALUE, got "${text}"`);
  const name = text.slice(0, eq);
  if (!VARIABLE_NAME.test(name)) throw new InvalidArgumentError(`"${name}" is not a valid variable name (letters, digits and _, not starting with a digit)`);
  return [...previous, { name, value: text.slice(eq + 1) }];
}

/** Adds `--env` and `--env-file` to a command. */
export function envOptions(command: Command): Command {
  return command
    .option('--env <NAME=VALUE>', 'export this variable into every session before its first block (repeatable)', parseEnvOption)
    .option('--env-file <file>', 'export the variables of this dotenv file into every session (repeatable)', (file: string, previous: string[] = []) => [...previous, file]);
}

/**
 * The values given: every env file's in order, then every `--env` (a later value of a name wins).
 * @throws UsageError for an env file that cannot be read or holds an invalid variable name
 */
export async function givenValues(flags: EnvFlags): Promise<GivenValue[]> {
  const values: GivenValue[] = [];
  // dotenv loads only when a file is given.
  const { parse } = flags.envFile?.length ? await import('dotenv') : { parse: undefined };
  for (const file of flags.envFile ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`--env-file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    for (const [name, value] of Object.entries(parse!(text))) {
      if (!VARIABLE_NAME.test(name)) throw new UsageError(`--env-file ${file}: "${name}" is not a valid variable name`);
      values.push({ name, value, source: 'env file' });
    }
  }
  for (const { name, value } of flags.env ?? []) values.push({ name, value, source: '--env' });
  return values;
}
