/**
 * Jupyter notebooks (nbformat 4, https://nbformat.readthedocs.io/en/latest/format_description.html):
 * a shell notebook's code cells as blocks, and notebooks written from runs: the executed copy of a
 * notebook (as papermill writes it: outputs and execution counts filled in, everything else kept),
 * or a new notebook of a script or runbook. No I/O; JSON is read with JSON.parse and written as
 * Jupyter writes it (one-space indent, keys sorted, a final newline), so unchanged parts of a file
 * Jupyter saved stay byte for byte.
 */
import type { Block } from './split.js';

/** A notebook's JSON (nbformat 4). Members cmdrun does not read are kept as they are. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
  [key: string]: unknown;
}

/** One cell; `source` is a nbformat multiline string (a string, or the list of its lines). */
export interface NotebookCell {
  cell_type: string;
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

/** A notebook that is not one cmdrun can read (not JSON, not nbformat 4, not a shell's). */
export class NotebookError extends Error {}

/** Kernel languages whose code cells run in the session's shell. */
export const SHELL_LANGUAGES = ['bash', 'sh', 'zsh'] as const;

/** The newest nbformat 4 minor, the one JupyterLab writes today (cells have an `id`). */
export const NBFORMAT_MINOR = 5;

/** bash_kernel's kernelspec and language_info, so that JupyterLab opens the notebook with it. */
export const BASH_KERNEL_METADATA = {
  kernelspec: { display_name: 'Bash', language: 'bash', name: 'bash' },
  language_info: { codemirror_mode: 'shell', file_extension: '.sh', mimetype: 'text/x-sh', name: 'bash' },
};

/** True for a file name ending in `.ipynb` (any case). */
export const isNotebookFile = (fileName: string) => /\.ipynb$/i.test(fileName);

/** A nbformat multiline string as one string. */
export const joinSource = (source: unknown): string => (Array.isArray(source) ? source.join('') : typeof source === 'string' ? source : '');

/** `text` as Jupyter writes a multiline string: its lines, each but the last ending in `\n`. */
export function multiline(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Reads a notebook file's text.
 * @throws NotebookError when it is not JSON, not nbformat 4, or has no cells list.
 */
export function parseNotebook(text: string, fileName: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch (err) {
    throw new NotebookError(`${fileName}: not a Jupyter notebook: ${(err as Error).message}`);
  }
  if (!nb || typeof nb !== 'object' || Array.isArray(nb)) throw new NotebookError(`${fileName}: not a Jupyter notebook: the JSON is not an object`);
  const { nbformat, cells, metadata } = nb as Record<string, unknown>;
  if (nbformat !== 4) throw new NotebookError(`${fileName}: nbformat ${JSON.stringify(nbformat)}: cmdrun reads nbformat 4 notebooks`);
  if (!Array.isArray(cells) || cells.some((c) => !c || typeof c !== 'object' || typeof (c as NotebookCell).cell_type !== 'string')) {
    throw new NotebookError(`${fileName}: not a Jupyter notebook: "cells" is not a list of cells`);
  }
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) throw new NotebookError(`${fileName}: not a Jupyter notebook: "metadata" is not an object`);
  return nb as Notebook;
}

/** The notebook's kernel language: `metadata.kernelspec.language`, else `metadata.language_info.name`. */
export function notebookLanguage(nb: Notebook): string | undefined {
  const meta = (nb.metadata ?? {}) as { kernelspec?: { language?: unknown }; language_info?: { name?: unknown } };
  const language = meta.kernelspec?.language ?? meta.language_info?.name;
  return typeof language === 'string' ? language : undefined;
}

/**
 * Checks that the notebook's cells are shell code.
 * @throws NotebookError naming the notebook's language when it is not bash, sh or zsh.
 */
export function checkShellNotebook(nb: Notebook, fileName: string): void {
  const language = notebookLanguage(nb);
  if (language && (SHELL_LANGUAGES as readonly string[]).includes(language.toLowerCase())) return;
  const kernel = (nb.metadata?.kernelspec as { display_name?: unknown } | undefined)?.display_name;
  throw new NotebookError(
    language
      ? `${fileName}: a ${language} notebook${typeof kernel === 'string' ? ` (kernel "${kernel}")` : ''}: cmdrun runs notebooks whose kernel language is ${SHELL_LANGUAGES.join(', ')}`
      : `${fileName}: the notebook names no kernel language (metadata.kernelspec.language): cmdrun runs notebooks whose kernel language is ${SHELL_LANGUAGES.join(', ')}`,
  );
}

/**
 * The blocks of a shell notebook: its code cells with code, in order. A notebook has no lines: a
 * block's lineStart, lineEnd and markerLine are its cell's 1-based number among all cells. Its
 * title is the cell's `name` metadata, else its first comment (`# Set up` → `Set up`); its `tags`
 * metadata are what `--block` matches besides.
 */
export function notebookBlocks(nb: Notebook): Block[] {
  const blocks: Block[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const code = joinSource(cell.source).replace(/\n$/, '');
    if (!code.trim()) return;
    const meta = cell.metadata ?? {};
    const name = typeof meta.name === 'string' ? meta.name : undefined;
    const comment = /^\s*#(?!!)\s*(\S.*?)\s*$/m.exec(code.split('\n').find((l) => l.trim()) ?? '')?.[1];
    const tags = Array.isArray(meta.tags) ? meta.tags.filter((t): t is string => typeof t === 'string') : [];
    const title = name ?? comment;
    blocks.push({
      index: blocks.length,
      lineStart: i + 1,
      lineEnd: i + 1,
      markerLine: i + 1,
      code,
      ...(title ? { title } : {}),
      ...(name ? { name } : {}),
      ...(tags.length ? { tags } : {}),
    });
  });
  return blocks;
}

/** The text of the markdown cells before each block (after the block before it); none: undefined. */
export function notebookProse(nb: Notebook, blocks: readonly Block[]): Array<string | undefined> {
  let next = 0;
  return blocks.map((block) => {
    const text = nb.cells
      .slice(next, block.lineStart - 1)
      .filter((c) => c.cell_type === 'markdown')
      .map((c) => joinSource(c.source).replace(/\n*$/, '\n'))
      .join('\n');
    next = block.lineStart;
    return text.trim() ? text : undefined;
  });
}

/** A run as a notebook shows it. */
export interface CellRun {
  /** The terminal output, escape sequences kept (Jupyter shows their colours). */
  output: string;
  /** The exit status; undefined when the run has none. */
  exitCode?: number;
  /** Why the run has no exit status (a session error, an unfinished run). */
  error?: string;
  interrupted?: boolean;
}

/**
 * A run's outputs (nbformat `stream` and `error` outputs): the output on stdout (a PTY merges
 * stderr into it) with `\r\n` made `\n` (a lone `\r` kept: Jupyter draws progress lines from it),
 * and, for a failure, an `error` output saying the exit status, as bash_kernel reports one.
 */
export function cellOutputs(run: CellRun): unknown[] {
  const outputs: unknown[] = [];
  const text = run.output.replace(/\r\n/g, '\n');
  if (text) outputs.push({ name: 'stdout', output_type: 'stream', text: multiline(text) });
  const failure = run.error ?? (run.exitCode === undefined ? 'no exit status' : run.exitCode !== 0 ? `exit status ${run.exitCode}` : undefined);
  if (failure) {
    const value = run.interrupted ? `${failure} (interrupted)` : failure;
    outputs.push({ ename: run.error ? 'Error' : 'ExitStatus', evalue: value, output_type: 'error', traceback: [value] });
  }
  return outputs;
}

/**
 * The executed copy of `nb`: each run cell's `outputs` and `execution_count` replaced (counts
 * 1, 2, ... in the order of `runs`), every other member of the notebook and its cells kept.
 * @param runs by block (notebookBlocks), in the order they ran
 */
export function executedNotebook(nb: Notebook, runs: ReadonlyArray<{ block: Block; run: CellRun }>): Notebook {
  const copy = structuredClone(nb);
  runs.forEach(({ block, run }, i) => {
    const cell = copy.cells[block.lineStart - 1];
    cell.outputs = cellOutputs(run);
    cell.execution_count = i + 1;
  });
  return copy;
}

/** `nb` without outputs: every code cell's outputs emptied and execution count null. */
export function clearedNotebook(nb: Notebook): Notebook {
  const copy = structuredClone(nb);
  for (const cell of copy.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  return copy;
}

/** One part of a new notebook: prose (a markdown cell) or a block and its run. */
export type NotebookPart = { prose: string } | { code: string; run?: CellRun; metadata?: Record<string, unknown> };

/**
 * A new nbformat 4.5 notebook with bash_kernel's metadata: each prose part a markdown cell, each
 * block a code cell (execution counts 1, 2, ... for those that ran). Cell ids are `cell-1`, ...
 */
export function newNotebook(parts: readonly NotebookPart[]): Notebook {
  let count = 0;
  const cells = parts.map((part, i): NotebookCell => {
    const id = `cell-${i + 1}`;
    if ('prose' in part) return { cell_type: 'markdown', id, metadata: {}, source: multiline(part.prose.replace(/\n+$/, '')) };
    return {
      cell_type: 'code',
      execution_count: part.run ? ++count : null,
      id,
      metadata: part.metadata ?? {},
      outputs: part.run ? cellOutputs(part.run) : [],
      source: multiline(part.code),
    };
  });
  return { cells, metadata: structuredClone(BASH_KERNEL_METADATA), nbformat: 4, nbformat_minor: NBFORMAT_MINOR };
}

/** Recursively sorts object keys (Python's `json.dump(sort_keys=True)`). */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The notebook as Jupyter writes its file: JSON, one-space indent, keys sorted, a final newline. */
export function notebookText(nb: Notebook): string {
  return `${JSON.stringify(sorted(nb), null, 1)}\n`;
}
