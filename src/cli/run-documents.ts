/**
 * What `cmdrun run` reads and writes besides output: the document's blocks (a script, a Markdown
 * runbook or a Jupyter notebook), its outputs written back into it (`--write-outputs`) or removed
 * (`--clear-outputs`), and `.ipynb` reports. Writes are atomic (ScriptFile: temp file, fsync,
 * rename) and refused when the file changed on disk since the run read it.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkShellNotebook, clearedNotebook, executedNotebook, isNotebookFile, notebookBlocks, notebookText, NotebookError, parseNotebook, type Notebook } from '../blocks/ipynb.js';
import { clearOutputs, writeOutputs, type DocumentOutput, type OutputFilter } from '../blocks/outputs.js';
import { documentKind, type Splitters } from '../blocks/parser.js';
import type { Block } from '../blocks/split.js';
import { cellRun } from '../history/notebook-report.js';
import { terminalText, type TranscriptRun } from '../history/transcript.js';
import { FileConflictError, ScriptFile } from '../server/script-file.js';
import { UsageError } from './checks.js';

/** A document read for a run: its text, its blocks and, for a notebook, its JSON. */
export interface RunDocument {
  path: string;
  /** The file's text as read. */
  source: string;
  /** The file's mtime when read (ms since the epoch): a write back needs it unchanged. */
  mtimeMs: number;
  kind: 'shell' | 'markdown' | 'notebook';
  blocks: Block[];
  notebook?: Notebook;
}

/**
 * Reads the document at `path` and splits it into blocks.
 * @throws UsageError for a notebook that is not JSON, not nbformat 4 or not a shell notebook.
 */
export async function readRunDocument(path: string, splitters: Splitters): Promise<RunDocument> {
  const file = new ScriptFile(path);
  const { content: source, mtimeMs } = await file.read();
  if (isNotebookFile(path)) {
    try {
      const notebook = parseNotebook(source, basename(path));
      checkShellNotebook(notebook, basename(path));
      return { path, source, mtimeMs: mtimeMs ?? 0, kind: 'notebook', blocks: notebookBlocks(notebook), notebook };
    } catch (err) {
      if (err instanceof NotebookError) throw new UsageError(err.message);
      throw err;
    }
  }
  return { path, source, mtimeMs: mtimeMs ?? 0, kind: documentKind(path), blocks: splitters.forFile(path)(source) };
}

/** Where a block is, for messages: `file:line` (its first code line by default), or `file cell N` in a notebook. */
export function blockPlace(doc: Pick<RunDocument, 'kind'>, file: string, block: Block, line = block.lineStart): string {
  return doc.kind === 'notebook' ? `${file} cell ${block.lineStart}` : `${file}:${line}`;
}

/** Raw output lines drawn for a document at most, half from the start and half from the end. */
const DRAWN_LINES = 5000;

/**
 * What the terminal shows of an output's first and last lines (a terminal keeps only the last
 * ones: a very long output is drawn as its head and its tail apart).
 */
async function headAndTail(output: string): Promise<{ text: string; omittedLines: number }> {
  const lines = output.split('\n');
  if (lines.length <= 2 * DRAWN_LINES) return { text: (await terminalText(output)).text, omittedLines: 0 };
  const head = (await terminalText(lines.slice(0, DRAWN_LINES).join('\n'))).text;
  const tail = (await terminalText(lines.slice(-DRAWN_LINES).join('\n'))).text;
  return { text: `${head}\n${tail}`, omittedLines: lines.length - 2 * DRAWN_LINES };
}

/**
 * The document's outputs as a document shows them: each run's terminal text (escape sequences
 * removed, progress lines resolved), exit status, duration and start time.
 */
export async function documentOutputs(runs: ReadonlyMap<number, TranscriptRun>): Promise<Map<number, DocumentOutput>> {
  const outputs = new Map<number, DocumentOutput>();
  for (const [index, run] of runs) {
    if (run.cancelled) continue;
    const { text, omittedLines } = await headAndTail(run.output);
    outputs.set(index, {
      text,
      ...(omittedLines ? { omittedLines } : {}),
      ...(run.finished && run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
      ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
      ...(run.startedAt !== undefined ? { startedAt: run.startedAt } : {}),
    });
  }
  return outputs;
}

/** Options of writeBack. */
export interface WriteBackOptions {
  /** `clear`: remove the outputs; `write`: write these runs' outputs (by Block.index). */
  mode: 'clear' | 'write';
  runs?: ReadonlyMap<number, TranscriptRun>;
  maxLines?: number;
  /** Every output text passes through it before it is written (secrets, fleets: OutputFilter). */
  filter?: OutputFilter;
  /** Told about outputs that have no place (a fence never closed). */
  warn?: (message: string) => void;
}

/**
 * Writes the document's outputs back into it, or removes them: a Markdown runbook's output regions
 * (outputs.ts), a notebook's cell outputs (its executed copy, or all outputs emptied).
 * @returns false when the document needed no change (nothing is written then)
 * @throws UsageError for a shell script (its outputs have no place); FileConflictError when the
 *   file changed on disk since `doc` was read (nothing is written then)
 */
export async function writeBack(doc: RunDocument, options: WriteBackOptions): Promise<boolean> {
  let content: string;
  if (doc.kind === 'notebook') {
    const runs = [...(options.runs ?? new Map<number, TranscriptRun>())].map(([index, run]) => ({ block: doc.blocks[index], run: cellRun(run) }));
    content = notebookText(options.mode === 'clear' ? clearedNotebook(doc.notebook!) : executedNotebook(doc.notebook!, runs));
  } else if (doc.kind === 'markdown') {
    for (const block of doc.blocks.filter((b) => options.mode === 'write' && options.runs?.has(b.index) && b.fence && !b.fence.closed)) {
      options.warn?.(`${basename(doc.path)}:${block.fence!.openLine}: the fence is never closed: its output has no place in the document`);
    }
    content =
      options.mode === 'clear'
        ? clearOutputs(doc.source, doc.blocks)
        : writeOutputs(doc.source, doc.blocks, await documentOutputs(options.runs ?? new Map()), { maxLines: options.maxLines, filter: options.filter });
  } else {
    throw new UsageError(`${basename(doc.path)}: only Markdown runbooks and notebooks keep outputs (a shell script has no place for them; use --report)`);
  }
  if (content === doc.source) return false;
  // The same text and mtime as when the run read it, else the write is refused.
  const now = await readFile(doc.path, 'utf8').catch(() => undefined);
  if (now !== doc.source) throw new FileConflictError(null);
  await new ScriptFile(doc.path).save(content, doc.mtimeMs);
  return true;
}
