/**
 * Transcripts as Jupyter notebooks (`cmdrun run --report out.ipynb`, the page's Export): the
 * executed copy of a notebook, or a new bash notebook of a script or runbook (ipynb.ts). No I/O.
 */
import { executedNotebook, newNotebook, notebookText, type CellRun, type Notebook, type NotebookPart } from '../blocks/ipynb.js';
import { clearOutputs } from '../blocks/outputs.js';
import type { BlockSplitter } from '../blocks/parser.js';
import { blockLines, type Block } from '../blocks/split.js';
import type { TranscriptRun } from './transcript.js';

/** The document a notebook report is of. */
export interface ReportDocument {
  kind: 'shell' | 'markdown' | 'notebook';
  /** The file's text (a Markdown runbook's, with its output regions). */
  source: string;
  /** Its blocks (the splitter's, or notebookBlocks of `notebook`). */
  blocks: Block[];
  /** A notebook's JSON. */
  notebook?: Notebook;
}

/** A transcript's run as a notebook cell shows it: a run without exit status says why. */
export const cellRun = (run: TranscriptRun): CellRun => ({
  output: run.output,
  exitCode: run.finished && !run.cancelled ? run.exitCode : undefined,
  ...(run.error ? { error: run.error } : run.cancelled ? { error: 'cancelled' } : {}),
  ...(run.interrupted ? { interrupted: true } : {}),
});

/**
 * The `.ipynb` report of a run: a notebook's executed copy, or a new notebook of a script or
 * runbook (prose as markdown cells, outputs of a runbook's own output regions left out).
 * @param runs by Block.index, in the order they ran
 * @param split the document's splitter (a runbook is split again without its output regions)
 */
export function notebookReport(doc: ReportDocument, runs: ReadonlyMap<number, TranscriptRun>, split: BlockSplitter): string {
  if (doc.kind === 'notebook') {
    return notebookText(executedNotebook(doc.notebook!, [...runs].map(([index, run]) => ({ block: doc.blocks[index], run: cellRun(run) }))));
  }
  const parts: NotebookPart[] = [];
  let source = doc.source;
  let blocks = doc.blocks;
  if (doc.kind === 'markdown') {
    source = clearOutputs(doc.source, doc.blocks);
    blocks = split(source);
  }
  const lines = source.split(/\r\n|\r|\n/);
  let next = 1;
  const prose = (first: number, last: number) => {
    const text = lines.slice(first - 1, last).join('\n');
    if (doc.kind === 'markdown' && text.trim()) parts.push({ prose: text.replace(/^\n+/, '') });
  };
  for (const block of blocks) {
    const { first, last } = blockLines(block);
    prose(next, first - 1);
    const run = runs.get(block.index);
    parts.push({ code: block.code, ...(run ? { run: cellRun(run) } : {}), ...(block.name ? { metadata: { name: block.name } } : {}) });
    next = last + 1;
  }
  prose(next, lines.length);
  return notebookText(newNotebook(parts));
}
