/**
 * A run's inputs, asked for before anything of its block runs: the confirmation of a `confirm=`
 * block, then the values of its parameters (params.ts), by its `promptEnv` mode. Values reach the
 * shell only as exported variables: typed into the session's terminal for a small hidden block
 * that reads them (never written to a file nor put on a command line). The notebook's environment
 * (NotebookEnv) remembers every value given or typed, so it answers later blocks (auto mode), and
 * knows the secrets to mask (secrets.ts).
 */
import { randomBytes } from 'node:crypto';
import { shellQuote, withParameters, type FoundParameter, type PromptMode } from '../blocks/params.js';
import { encodeBlockLines } from '../session/remote.js';
import type { ShellSession } from '../session/session.js';
import type { ParamsData, Run } from './run.js';
import { Secrets } from './secrets.js';

/** Where a value came from, as the Environment panel and GET /api/env say it. */
export type ValueSource = 'typed' | '--env' | 'env file' | 'environment' | 'default' | 'session';

/** One variable the notebook knows. */
export interface EnvEntry {
  name: string;
  /** Undefined while it has none (asked for and not answered, or asked again). */
  value?: string;
  source?: ValueSource;
  secret: boolean;
  /** The next block that uses it asks, in any mode but `never`. */
  askAgain?: boolean;
  /** The message of the parameter that asked for it last. */
  message?: string;
}

/** A value given on the command line (`--env`) or in an env file (`--env-file`). */
export interface GivenValue {
  name: string;
  value: string;
  source: '--env' | 'env file';
}

/** The notebook's parameters and their values, and the secrets to mask. */
export class NotebookEnv {
  readonly secrets = new Secrets();
  private readonly entries = new Map<string, EnvEntry>();

  /**
   * @param given `--env` and `--env-file` values (a later one of a name wins); each is exported
   *   into every session before its first block by the caller (SessionOptions.env)
   * @param isSecret whether a name is a secret's (params.ts: isSecretName)
   */
  constructor(given: readonly GivenValue[], private readonly isSecret: (name: string) => boolean) {
    for (const { name, value, source } of given) this.set(name, value, source, isSecret(name));
  }

  /** The values given, by name, to export into every session (SessionOptions.env). */
  exported(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of this.entries.values()) if ((e.source === '--env' || e.source === 'env file') && e.value !== undefined) env[e.name] = e.value;
    return env;
  }

  /** Records a value; a secret's is masked from now on. */
  set(name: string, value: string, source: ValueSource, secret: boolean, message?: string): void {
    const old = this.entries.get(name);
    const isSecret = secret || old?.secret === true || this.isSecret(name);
    this.entries.set(name, { name, value, source, secret: isSecret, ...(message ?? old?.message ? { message: message ?? old?.message } : {}) });
    if (isSecret) this.secrets.add(value);
  }

  /** The entry of `name`, if the notebook knows it. */
  get(name: string): EnvEntry | undefined {
    return this.entries.get(name);
  }

  /**
   * Makes the next block that uses `name` ask for it.
   * @returns false when the notebook does not know the name
   */
  askAgain(name: string): boolean {
    const entry = this.entries.get(name);
    if (!entry) return false;
    entry.askAgain = true;
    return true;
  }

  /** Every entry, names in order; secret values as `***` (GET /api/env). */
  list(): Array<Omit<EnvEntry, 'value'> & { value: string | null }> {
    return [...this.entries.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({ ...e, value: e.value === undefined ? null : e.secret ? '***' : e.value, askAgain: e.askAgain === true }));
  }
}

/** One value to ask for, as the `params` event sends it. */
export type Question = ParamsData['params'][number];

/** Who answers a run's questions: the page through the API (the server), or the terminal (`cmdrun run`). */
export interface Asker {
  /**
   * The values of `questions`, by name (every name answered), or undefined when the run is cancelled.
   * `signal` aborts when the run is interrupted meanwhile.
   */
  params(run: Run, questions: Question[], signal: AbortSignal): Promise<Record<string, string> | undefined>;
  /** True for a yes; false for a no or when `signal` aborts. */
  confirm(run: Run, question: string, signal: AbortSignal): Promise<boolean>;
}

/** What a session says of some variables: set or not, and the value. */
type Probe = Map<string, string | undefined>;

/** Runs `code` as a block nobody sees (its output is returned, not shown, recorded or kept). */
async function hidden(session: ShellSession, code: string, input?: string): Promise<string> {
  let out = '';
  const result = await session.run(code, { onOutput: (text) => (out += text), ...(input ? { input } : {}) });
  if (result.exitCode !== 0) throw new Error(`could not read the session's variables (status ${result.exitCode})`);
  return out;
}

/** The values of `names` in the session's shell (undefined: unset or empty), asked of the shell itself. */
export async function probe(session: ShellSession, names: readonly string[]): Promise<Probe> {
  const id = randomBytes(6).toString('hex');
  const code = names.map((n) => `printf '\\001${id}%s=%s;' ${n} "\${${n}:+1}"; printf '%s' "\${${n}-}"`).join('\n') + `\nprintf '\\001${id}.'`;
  const out = await hidden(session, code);
  const found: Probe = new Map();
  for (const piece of out.split(`\x01${id}`).slice(1)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(1?);/.exec(piece);
    if (match) found.set(match[1], match[2] ? piece.slice(match[0].length) : undefined);
  }
  for (const name of names) if (!found.has(name)) throw new Error(`could not read the session's variables`);
  return found;
}

/** The shell variable a value waits in until its block's line exports it (not exported meanwhile). */
const staged = (name: string) => `__cmdrun_p_${name}`;

/**
 * Stages `values` in the session, each in an unexported variable (staged()), for the block's
 * lines to export (or, with `exportNow`, exports them at once): a hidden block reads them from its
 * terminal (each value as lines of printf(1) format, remote.ts encodeBlockLines, then a `-` line),
 * so they are on no command line and in no file.
 */
export async function stageValues(session: ShellSession, values: Record<string, string>, exportNow = false): Promise<void> {
  const names = Object.keys(values);
  if (names.length === 0) return;
  const read = '__cmdrun_v=; while IFS= read -r __cmdrun_l; do [ "$__cmdrun_l" = - ] && break; __cmdrun_v="$__cmdrun_v$__cmdrun_l"; done; __cmdrun_v=$(printf "$__cmdrun_v"; printf x); __cmdrun_v=${__cmdrun_v%x}';
  const code = names.map((n) => `${read}; ${exportNow ? `${n}=$__cmdrun_v; export ${n}` : `${staged(n)}=$__cmdrun_v`}`).join('\n') + '\nunset __cmdrun_v __cmdrun_l';
  const input = names.map((n) => [...encodeBlockLines(Buffer.from(values[n], 'utf8')), '-'].join('\n') + '\n').join('');
  await hidden(session, code, input);
}

/** Set in a remote session once the given values are exported there (its shell was started with them). */
const GIVEN_MARK = '__cmdrun_given';

/**
 * Exports the `--env` and `--env-file` values into a remote session that does not have them yet
 * (a local one gets them in its environment at start; ssh passes no environment, and a command
 * line would show them): checked before every block, as a new shell may have replaced the last.
 */
async function exportGiven(session: ShellSession, env: NotebookEnv): Promise<void> {
  const given = env.exported();
  if (session.target === 'local' || Object.keys(given).length === 0) return;
  if ((await probe(session, [GIVEN_MARK])).get(GIVEN_MARK) !== undefined) return;
  await stageValues(session, given, true);
  await hidden(session, `${GIVEN_MARK}=1`);
}

/** The code of a block in `never` mode: a message becomes the value (as Runme runs it). */
function asWritten(code: string, params: readonly FoundParameter[]): string {
  const messages = params.filter((p) => p.message !== undefined);
  return messages.length ? withParameters(code, messages, (p) => `export ${p.name}=${shellQuote(p.message!)}`) : code;
}

/** What prepareRun needs. */
export interface PrepareDeps {
  env: NotebookEnv;
  asker: Asker;
  /** The parameters of a shell block's code (Splitters.parameters; the grammar may load on first use). */
  parameters: (code: string, secret?: readonly string[]) => FoundParameter[] | Promise<FoundParameter[]>;
}

/**
 * Asks what a run needs before it starts: a yes for `confirm`, then the values of its parameters
 * (RunRequest.promptEnv), exported in `session`.
 * @returns the code to run (each parameter's line then exports the session's value), or undefined
 *   when the run is cancelled (a no, a cancelled form, an interrupt)
 * @throws Error when the session cannot be asked (its shell died while asked)
 */
export async function prepareRun(run: Run, session: ShellSession, signal: AbortSignal, deps: PrepareDeps): Promise<string | undefined> {
  const { request } = run;
  await exportGiven(session, deps.env);
  if (request.confirm !== undefined && !(await deps.asker.confirm(run, request.confirm, signal))) return undefined;
  const found = await blockParameters(run, deps);
  if (!found) return request.code;
  if (found.mode === 'never') return asWritten(request.code, found.params);
  const toSet = await askValues(run, found, await probe(session, [...new Set(found.params.map((p) => p.name))]), deps, signal);
  if (!toSet) return undefined;
  await stageValues(session, toSet);
  return codeWithValues(request.code, found.params, toSet);
}

/**
 * prepareRun for a fleet run (README "Fleets"): the confirmation and the values are asked once,
 * for every host; no host's session is asked what it has (auto mode asks for a value the notebook
 * does not know), and each host's session gets the values before its block (`beforeHost`).
 * @returns undefined when the run is cancelled
 */
export async function prepareFleetRun(run: Run, signal: AbortSignal, deps: PrepareDeps): Promise<{ code: string; beforeHost: (session: ShellSession) => Promise<void> } | undefined> {
  const { request } = run;
  if (request.confirm !== undefined && !(await deps.asker.confirm(run, request.confirm, signal))) return undefined;
  const found = await blockParameters(run, deps);
  let toSet: Record<string, string> = {};
  let code = request.code;
  if (found?.mode === 'never') code = asWritten(request.code, found.params);
  else if (found) {
    const asked = await askValues(run, found, new Map(), deps, signal);
    if (!asked) return undefined;
    toSet = asked;
    code = codeWithValues(request.code, found.params, toSet);
  }
  return {
    code,
    beforeHost: async (session) => {
      await exportGiven(session, deps.env);
      await stageValues(session, toSet);
    },
  };
}

/** The block's parameters and its mode, or undefined when it asks for nothing. */
async function blockParameters(run: Run, deps: PrepareDeps): Promise<{ mode: PromptMode; params: FoundParameter[] } | undefined> {
  const { request } = run;
  const mode: PromptMode | undefined = request.interpreter ? undefined : request.promptEnv;
  if (!mode || !request.code.includes('export')) return undefined;
  const params = await deps.parameters(request.code, request.secret);
  return params.length ? { mode, params } : undefined;
}

/**
 * The values a block's parameters get, asking for those the mode wants asked (`inSession`: what
 * the session has).
 * @returns the values to stage by name, or undefined when the question was cancelled
 */
async function askValues(run: Run, { mode, params }: { mode: PromptMode; params: FoundParameter[] }, inSession: Probe, deps: PrepareDeps, signal: AbortSignal): Promise<Record<string, string> | undefined> {
  const { env } = deps;
  const names = [...new Set(params.map((p) => p.name))];
  const toSet: Record<string, string> = {};
  const questions: Question[] = [];
  const fallback = new Map<string, string>(); // a secret's value used when its answer is empty
  for (const name of names) {
    const param = params.find((p) => p.name === name)!;
    const entry = env.get(name);
    const secret = param.secret || entry?.secret === true;
    const current = inSession.get(name);
    if (current !== undefined && secret) env.secrets.add(current);
    const askAgain = entry?.askAgain === true;
    if (mode === 'auto' && !askAgain) {
      if (current !== undefined) {
        if (!entry || entry.value !== current) env.set(name, current, process.env[name] === current ? 'environment' : 'session', secret, param.message);
        continue;
      }
      if (entry?.value !== undefined) {
        toSet[name] = entry.value;
        continue;
      }
    }
    const known = current ?? entry?.value ?? param.default;
    if (secret && known !== undefined) fallback.set(name, known);
    questions.push({ name, ...(param.message !== undefined ? { message: param.message } : {}), ...(!secret && known !== undefined ? { default: known } : {}), secret });
  }
  if (questions.length > 0) {
    const answers = await deps.asker.params(run, questions, signal);
    if (!answers || signal.aborted) return undefined;
    for (const q of questions) {
      const answer = answers[q.name] ?? '';
      const value = q.secret && answer === '' ? (fallback.get(q.name) ?? '') : answer;
      env.set(q.name, value, 'typed', q.secret, q.message);
      toSet[q.name] = value;
    }
  }
  return toSet;
}

/** The block's code where each parameter's line exports its staged value, else the session's. */
function codeWithValues(code: string, params: readonly FoundParameter[], toSet: Record<string, string>): string {
  return withParameters(code, params, (p) => (Object.hasOwn(toSet, p.name) ? `${p.name}=$${staged(p.name)}; unset ${staged(p.name)}; export ${p.name}` : `export ${p.name}`));
}

/** A question waiting for its answer through the API. */
interface Pending {
  kind: 'params' | 'confirm';
  names: string[];
  resolve: (answer: Record<string, string> | boolean | undefined) => void;
}

/**
 * The server's Asker: a run that asks sends a `params` or `confirm` event on its stream and waits,
 * without a time limit, for POST /api/runs/:runId/params or /confirm (answer()), or an interrupt.
 */
export class ApiAsker implements Asker {
  private readonly pending = new Map<string, Pending>();

  params(run: Run, questions: Question[], signal: AbortSignal): Promise<Record<string, string> | undefined> {
    run.emit({ event: 'params', data: { runId: run.runId, params: questions } });
    return this.wait(run.runId, 'params', questions.map((q) => q.name), signal) as Promise<Record<string, string> | undefined>;
  }

  async confirm(run: Run, question: string, signal: AbortSignal): Promise<boolean> {
    const { title, on } = run.request;
    run.emit({ event: 'confirm', data: { runId: run.runId, question, ...(title ? { title } : {}), ...(on ? { on } : {}) } });
    return (await this.wait(run.runId, 'confirm', [], signal)) === true;
  }

  private wait(runId: string, kind: Pending['kind'], names: string[], signal: AbortSignal): Promise<Record<string, string> | boolean | undefined> {
    return new Promise((resolve) => {
      const done = (answer: Record<string, string> | boolean | undefined) => {
        this.pending.delete(runId);
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      const onAbort = () => done(undefined);
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(runId, { kind, names, resolve: done });
    });
  }

  /**
   * Answers the question run `runId` waits on: values by name for `params` (every name asked,
   * no other), a yes or no for `confirm`.
   * @returns undefined when taken, else why not (the route's 400 or 409 message) and its status
   */
  answer(runId: string, kind: Pending['kind'], answer: Record<string, string> | boolean): { error: string; status: 400 | 409 } | undefined {
    const pending = this.pending.get(runId);
    if (!pending || pending.kind !== kind) return { error: `the run is not waiting for ${kind === 'params' ? 'parameters' : 'a confirmation'}`, status: 409 };
    if (kind === 'params') {
      const values = answer as Record<string, string>;
      const unknown = Object.keys(values).filter((n) => !pending.names.includes(n));
      if (unknown.length) return { error: `unknown parameter${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, status: 400 };
      const missing = pending.names.filter((n) => !Object.hasOwn(values, n));
      if (missing.length) return { error: `missing parameter${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, status: 400 };
    }
    pending.resolve(answer);
    return undefined;
  }
}
