/**
 * `cmdrun run <file>`: run the blocks of a script or a Markdown runbook (its runnable fences) in
 * order in one shell session, in the terminal or in CI, with the same blocks and session semantics
 * as the notebook; `--list` prints the blocks instead. Block output goes to stdout
 * byte for byte (the PTY merges stderr into it, as a terminal does); cmdrun's own header lines and
 * messages go to stderr, so stdout equals what `bash file 2>&1` prints.
 */
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import stripAnsi from 'strip-ansi';
import { documentKind, loadSplitters } from '../blocks/parser.js';
import { blockLines, type Block } from '../blocks/split.js';
import { blockLabel } from '../runs/format.js';
import { RunQueue } from '../runs/run-queue.js';
import { DEFAULT_OUTPUT_LIMITS, isLastEvent, type OutputData, type Run, type RunEvent } from '../runs/run.js';
import { SessionPool } from '../session/pool.js';
import type { Target } from '../session/target.js';
import { HistoryRecorder } from '../history/recorder.js';
import { historyPath } from '../history/paths.js';
import { openHistory } from '../history/store.js';
import { formatOf, proseBefore, transcriptRun, writeTranscript, type TranscriptFormat } from '../history/transcript.js';
import { notebookLanguage, notebookProse } from '../blocks/ipynb.js';
import { DEFAULT_OUTPUT_LINES } from '../blocks/outputs.js';
import { FileConflictError } from '../server/script-file.js';
import { checkScript, sessionDirs, UsageError } from './checks.js';
import { notebookReport } from '../history/notebook-report.js';
import { blockPlace, readRunDocument, writeBack, type RunDocument } from './run-documents.js';
import type { HistoryFlags } from './history-command.js';
import { inputFields, isSecretName } from '../blocks/params.js';
import { NotebookEnv, prepareFleetRun, prepareRun } from '../runs/inputs.js';
import { givenValues, type EnvFlags } from './env-options.js';
import { inputNotes, listJson, missingValues } from './run-inputs.js';
import { TerminalAsker } from './terminal-asker.js';
import { FleetPrinter, resolveFleets } from './fleet-output.js';
import { hostCount } from '../runs/group-outputs.js';


/** Options of `cmdrun run`. */
export interface RunFlags extends HistoryFlags, EnvFlags {
  /** Answer yes to every `confirm=` block without asking. */
  yes?: boolean;
  shell: string;
  /** True when --shell was given: a zsh notebook then runs in that shell, not in zsh. */
  shellGiven?: boolean;
  cwd?: string;
  /** Where blocks run by default; with a remote target, `cwd` is a directory there; a fleet as written. */
  on?: Target | string;
  sshCommand?: string;
  /** `--inventory`: where @GROUP fleets are looked up. */
  inventory?: string;
  /** `--forks`: hosts of a fleet block connecting or running at once. */
  forks?: number;
  /** `--group`: a fleet block's outputs grouped when it ends, instead of prefixed lines. */
  group?: boolean;
  dockerCommand?: string;
  podmanCommand?: string;
  from?: number;
  to?: number;
  /** --block, each time it is given: the titles of the blocks to run. */
  block?: string[];
  /** Print the blocks (number, title, lines) and run nothing. */
  list?: boolean;
  /** Per-block limit in seconds. */
  timeout?: number;
  keepGoing: boolean;
  quiet: boolean;
  json: boolean;
  /** False with --no-color. */
  color: boolean;
  /** Write a transcript of the runs to this file (.html, .md or .ipynb). */
  report?: string;
  /** Write each run block's output into the runbook under its fence (a notebook: into its cells). */
  writeOutputs?: boolean;
  /** Remove the outputs written into the document, and run nothing. */
  clearOutputs?: boolean;
  /** Lines of one output kept in the document (its first and last ones). */
  writeOutputsLines?: number;
}

/** Exit status of a block stopped by --timeout (as timeout(1) reports it). */
export const TIMEOUT_STATUS = 124;

/**
 * Picks the blocks to run: blocks from..to (1-based) without those marked excludeFromRunAll, or
 * with --block (given once or more) those whose title, fence name, heading or notebook cell tag is
 * one of the given texts, in document order, each once (excluded ones too: they were asked for by
 * name, as their own ▶ runs them on the page).
 * @throws UsageError when the selection is empty or out of range, or a --block title matches no block.
 */
export function selectBlocks(blocks: Block[], flags: Pick<RunFlags, 'from' | 'to' | 'block'>): Block[] {
  if (flags.from && flags.from > blocks.length) throw new UsageError(`--from ${flags.from}: the script has ${blocks.length} blocks`);
  const chosen = blocks.slice((flags.from ?? 1) - 1, flags.to ?? blocks.length);
  if (flags.block === undefined) return chosen.filter((b) => !b.excludeFromRunAll);
  const wanted = flags.block;
  const names = (b: Block) => [b.title, b.name, b.heading, ...(b.tags ?? [])].filter((t) => t !== undefined);
  const missing = wanted.filter((title) => !chosen.some((b) => names(b).includes(title)));
  if (missing.length > 0) {
    const titles = [...new Set(blocks.flatMap(names))].map((t) => JSON.stringify(t));
    throw new UsageError(`no block titled ${missing.map((t) => JSON.stringify(t)).join(', ')}${titles.length ? ` (titles: ${titles.join(', ')})` : ' (the script has no titled blocks)'}`);
  }
  return chosen.filter((b) => names(b).some((t) => wanted.includes(t)));
}

/** The header line before a block: its number, title or first line, where it starts, and its target. */
function header(block: Block, n: number, total: number, place: string, dim: boolean, fleet?: string): string {
  const text = `── [${n}/${total}] ${blockLabel(block)} (${place})${fleet ? ` on ${fleet}` : block.on ? ` on ${block.on}` : ''}`;
  return dim ? `\x1b[2m${text}\x1b[0m\n` : `${text}\n`;
}

/**
 * `--list`: one line per block, `[n] title (file:first-last)`, the lines from its `# %%` marker or
 * opening fence to its last line or closing fence; then what runs it when not the shell, and
 * whether Run all skips it.
 */
export function listBlocks(blocks: readonly Block[], file: string, notebook = false, inputs: (block: Block) => string[] = () => []): string {
  return blocks
    .map((block, i) => {
      const { first, last } = blockLines(block);
      const notes = [block.interpreter, block.excludeFromRunAll ? 'excluded from run all' : undefined, ...inputs(block)].filter(Boolean);
      const place = notebook ? `${file} cell ${first}` : `${file}:${first === last ? first : `${first}-${last}`}`;
      return `[${i + 1}] ${blockLabel(block)} (${place})${notes.length ? ` ${notes.join(', ')}` : ''}\n`;
    })
    .join('');
}

/** An event as a `--json` line: its id, name and data (the text only: no bytes). */
function jsonLine(event: RunEvent): string {
  const data: Record<string, unknown> = { ...event.data };
  delete data.bytes;
  return `${JSON.stringify({ id: event.id, event: event.event, ...data })}\n`;
}

/**
 * What stdout gets of an output event: the bytes the terminal gave, byte for byte; with
 * `--no-color`, its text without escape sequences (invalid bytes are then U+FFFD).
 */
const outputOf = (data: OutputData, strip: boolean): string | Uint8Array => (strip ? stripAnsi(data.text) : (data.bytes ?? data.text));

/** Writes to stdout and waits while its buffer is full (so a slow terminal pauses the shell). */
function writeOut(text: string | Uint8Array): Promise<void> | undefined {
  if (process.stdout.write(text)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

export async function runCommand(file: string, flags: RunFlags, version = ''): Promise<void> {
  const path = resolve(file);
  checkScript(path, false);
  let reportFormat: TranscriptFormat | 'ipynb' | undefined;
  if (flags.report !== undefined) {
    reportFormat = /\.ipynb$/i.test(flags.report) ? 'ipynb' : formatOf(flags.report);
    if (!reportFormat) throw new UsageError(`--report ${flags.report}: the file name must end with .html, .md or .ipynb`);
  }
  if (flags.clearOutputs && flags.writeOutputs) throw new UsageError('--clear-outputs and --write-outputs: choose one');
  const { cwd, remoteCwd } = sessionDirs(path, flags);
  const splitters = await loadSplitters(
    {
      runtime: fileURLToPath(new URL('./web/web-tree-sitter.wasm', import.meta.url)),
      bash: fileURLToPath(new URL('./web/tree-sitter-bash.wasm', import.meta.url)),
    },
    { frontMatter: documentKind(path) === 'markdown' },
  );
  const doc = await readRunDocument(path, splitters);
  const { source, blocks: all } = doc;
  if (flags.list) {
    process.stdout.write(flags.json ? listJson(all, splitters) : listBlocks(all, basename(path), doc.kind === 'notebook', (block) => inputNotes(block, splitters)));
    return;
  }
  if ((flags.writeOutputs || flags.clearOutputs) && doc.kind === 'shell') {
    throw new UsageError(`${basename(path)}: only Markdown runbooks and notebooks keep outputs (a shell script has no place for them; use --report)`);
  }
  if (flags.clearOutputs) {
    process.exitCode = (await writeBackOrSay(doc, { mode: 'clear' })) ? 0 : 1;
    return;
  }
  // A zsh notebook's cells are zsh code (its kernel's language): they run in zsh unless --shell says otherwise.
  const shell = doc.notebook && !flags.shellGiven && notebookLanguage(doc.notebook)?.toLowerCase() === 'zsh' ? 'zsh' : flags.shell;
  const blocks = selectBlocks(all, flags);
  const wrongTarget = blocks.find((b) => b.onError);
  if (wrongTarget) throw new UsageError(`${blockPlace(doc, basename(path), wrongTarget, blockLines(wrongTarget).first)}: ${wrongTarget.onError}`);
  const defaultFleet = typeof flags.on === 'string' ? flags.on : undefined;
  const fleets = await resolveFleets(blocks, defaultFleet, flags.inventory, (block) => blockPlace(doc, basename(path), block, blockLines(block).first));
  const env = new NotebookEnv(await givenValues(flags), isSecretName);
  const interactive = Boolean(process.stdin.isTTY);
  if (!interactive) {
    // No one to ask: every value and every yes must be there before the first block runs.
    const known = new Set([...Object.keys(process.env).filter((k) => process.env[k]), ...Object.keys(env.exported())]);
    const place = (block: Block) => blockPlace(doc, basename(path), block, blockLines(block).first);
    const problems = missingValues(blocks, splitters, known, place);
    if (!flags.yes) {
      for (const block of blocks.filter((b) => inputFields(b).confirm !== undefined)) {
        problems.push(`block ${block.index + 1} (${place(block)}) asks to be confirmed (${JSON.stringify(inputFields(block).confirm)}): run with --yes`);
      }
    }
    if (problems.length) throw new UsageError(problems.join('\ncmdrun: '));
  }
  const asker = new TerminalAsker(interactive, flags.yes === true);
  const ran = new Map<number, Run>();
  let sessions: SessionPool;
  try {
    sessions = await SessionPool.start(typeof flags.on === 'object' ? flags.on : { kind: 'local' }, {
      session: { shell, cwd, scriptName: file, cols: process.stdout.columns, env: { ...process.env, ...env.exported() } },
      remoteCwd,
      sshCommand: flags.sshCommand,
      dockerCommand: flags.dockerCommand,
      podmanCommand: flags.podmanCommand,
      batch: !process.stdin.isTTY, // no one to answer ssh's prompts, nor a block's reads
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const session = sessions.default;
  const store = openHistory(historyPath(flags.history));
  const recorder = store && new HistoryRecorder(store, { script: path, shell: session.shell }, { limits: DEFAULT_OUTPUT_LIMITS, maxScriptChars: flags.historyMax, warn: (m) => process.stderr.write(`${m}\n`) });
  let recording = true; // the blocks, not the closing `exit`
  const queue = new RunQueue(sessions, {
    maxRuns: blocks.length + 2,
    onRun: (run) => recording && recorder?.track(run),
    topLevelReturns: async () => splitters.topLevelReturns,
    secrets: env.secrets,
    prepare: (run, session, signal) => prepareRun(run, session, signal, { env, asker, parameters: splitters.parameters }),
    prepareFleet: (run, signal) => prepareFleetRun(run, signal, { env, asker, parameters: splitters.parameters }),
    keepBytes: true, // stdout gets the terminal's bytes (outputOf)
    forks: flags.forks,
    defaultFleet,
  });
  const strip = !flags.color || Boolean(process.env.NO_COLOR);
  const dimHeaders = !strip && process.stderr.isTTY;
  let current: Run | undefined;
  let sigints = 0;

  const shutdown = async (status: number) => {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    await sessions.close();
    recorder?.close();
    process.exit(status);
  };
  // Ctrl-C interrupts the running block; a second one ends the session and cmdrun.
  const onInterrupt = () => {
    sigints++;
    if (sigints >= 2 || !current) void shutdown(130);
    else queue.interrupt(current.runId);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', () => void shutdown(143));
  // A terminal on stdin types into blocks that read input (or answers cmdrun's prompts);
  // otherwise blocks see end of input.
  if (interactive) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', (data: Buffer) => {
      const text = data.toString('utf8');
      if (asker.feed(text)) return;
      if (text === '\x03') onInterrupt();
      else if (current) queue.input(current.runId, text);
    });
  }

  // Output of background jobs printed between blocks, in the order it came.
  const background = (async () => {
    for await (const event of queue.background.follow(0)) {
      if (event.event !== 'output') continue;
      if (flags.json) await writeOut(jsonLine(event));
      else await writeOut(outputOf(event.data, strip));
    }
  })();

  let firstFailure: number | undefined;
  const runOne = async (code: string, block?: Block, n = 0, submitted?: (run: Run) => void): Promise<number> => {
    const on = block ? (block.on ?? defaultFleet) : undefined;
    const fleet = on !== undefined ? fleets.get(on) : undefined;
    const run = queue.submit(
      {
        code,
        lineStart: block?.lineStart,
        lineEnd: block?.lineEnd,
        cols: process.stdout.columns,
        interpreter: block?.interpreter,
        title: block?.title,
        on: block ? on : defaultFleet !== undefined ? 'local' : undefined, // the closing `exit` ends the local shell
        ...(block ? inputFields(block) : {}),
      },
      fleet,
    );
    const printer = fleet ? new FleetPrinter({ strip, color: !strip && Boolean(process.stdout.isTTY), group: flags.group === true }) : undefined;
    submitted?.(run);
    current = run;
    sigints = 0;
    let timedOut = false;
    const timers =
      flags.timeout && block
        ? [0, 2, 4].map((extra) => setTimeout(() => ((timedOut = true), queue.interrupt(run.runId)), (flags.timeout! + extra) * 1000))
        : [];
    let status = 1;
    try {
      for await (const event of run.follow(0)) {
        if (flags.json) await writeOut(jsonLine(event));
        else if (printer) {
          const text = printer.print(event);
          if (text) await writeOut(text);
        } else if (event.event === 'output') await writeOut(outputOf(event.data, strip));
        if (event.event === 'waiting' && !interactive) queue.input(run.runId, '\x04', event.data.target);
        if (event.event === 'end' && isLastEvent(event)) status = event.data.exitCode;
        if (event.event === 'error') process.stderr.write(`cmdrun: ${event.data.message}\n`);
      }
    } finally {
      timers.forEach(clearTimeout);
      current = undefined;
    }
    if (timedOut && block) {
      process.stderr.write(`cmdrun: block ${n} (${blockPlace(doc, basename(path), block)}) timed out after ${flags.timeout} s\n`);
      return TIMEOUT_STATUS;
    }
    return status;
  };

  for (const [i, block] of blocks.entries()) {
    const fleet = fleets.get(block.on ?? defaultFleet ?? '');
    if (!flags.quiet && !flags.json) process.stderr.write(header(block, i + 1, blocks.length, blockPlace(doc, basename(path), block), dimHeaders, fleet && `${fleet.on}: ${hostCount(fleet.hosts.length)}`));
    const status = await runOne(block.code, block, i + 1, (run) => ran.set(block.index, run));
    if (status !== 0) {
      firstFailure ??= status;
      if (!flags.keepGoing) break;
    }
  }
  // End the shell as a script ends, so its EXIT trap runs and prints here (bash(1): trap).
  if (firstFailure === undefined || flags.keepGoing) {
    const saved = flags.json;
    flags.json = false;
    recording = false;
    await runOne('exit');
    flags.json = saved;
  }
  queue.endBackground();
  await background;
  const runs = new Map([...ran].map(([index, run]) => [index, transcriptRun(run)]));
  if (flags.writeOutputs && !(await writeBackOrSay(doc, { mode: 'write', runs, maxLines: flags.writeOutputsLines ?? DEFAULT_OUTPUT_LINES, warn: (m) => process.stderr.write(`cmdrun: ${m}\n`) }))) firstFailure ??= 1;
  if (flags.report && reportFormat) {
    // Every block of the script, in order; those not run (not selected, or after a failure) say so.
    const prose = doc.notebook ? notebookProse(doc.notebook, all) : proseBefore(source, all);
    const entries = all.map((block, i) => ({ block, prose: prose[i], run: runs.get(block.index), ...(doc.notebook ? { where: blockPlace(doc, basename(path), block) } : {}) }));
    try {
      const text = reportFormat === 'ipynb' ? notebookReport(doc, runs, splitters.forFile(path)) : await writeTranscript({ script: path, entries, createdAt: Date.now(), version }, reportFormat);
      writeFileSync(flags.report, text);
    } catch (err) {
      process.stderr.write(`cmdrun: could not write the report ${flags.report}: ${(err as Error).message}\n`);
      firstFailure ??= 1;
    }
  }
  await shutdown(firstFailure ?? 0);
}

/**
 * writeBack (run-documents.ts), its refusal said on stderr: a file changed on disk since the run
 * read it is left as it is.
 * @returns false when the outputs could not be written
 */
async function writeBackOrSay(doc: RunDocument, options: Parameters<typeof writeBack>[1]): Promise<boolean> {
  try {
    await writeBack(doc, options);
    return true;
  } catch (err) {
    const what = options.mode === 'clear' ? 'outputs not cleared' : 'outputs not written';
    if (err instanceof FileConflictError) process.stderr.write(`cmdrun: ${basename(doc.path)} changed on disk since the run read it: ${what} (the file is as the other program left it)\n`);
    else if (err instanceof UsageError) throw err;
    else process.stderr.write(`cmdrun: ${what} to ${basename(doc.path)}: ${(err as Error).message}\n`);
    return false;
  }
}
