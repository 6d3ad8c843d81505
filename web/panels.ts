/**
 * Where the page puts a run's output panel: under the block that ran (replacing that block's
 * panel), under the lines of a selection that ran, or apart from the document (runs that match no
 * block: web/history.ts OtherRuns). A panel is stale (dimmed) while the text it ran from differs
 * from the document's.
 */
import type { StateField } from '@codemirror/state';
import type { EditorView } from '@codemirror/view';
import { blockLines, type Block } from '../src/blocks/split.js';
import { fittingColumns } from './appearance.js';
import type { OtherRuns, Placement } from './history.js';
import { selectionRun } from './markdown.js';
import { blockHolding, outputPosition, showOutput } from './notebook.js';
import { DEFAULT_COLS, OutputView, type OutputHost } from './output-view.js';
import type { PageRun } from './runs.js';

/**
 * Where a run's panel goes: under line `panelLine`, replacing the panels of lines
 * panelFrom..panelLine; lines lineStart..lineEnd and [codeFrom, codeTo] are the text that ran (the
 * server gets the lines, the stale mark compares the text).
 */
export interface Place {
  lineStart: number;
  lineEnd: number;
  panelFrom: number;
  panelLine: number;
  codeFrom: number;
  codeTo: number;
}

/** What the panels need of the page. */
export interface PanelDeps {
  /** The editor (made after the panels: asked for on use). */
  view(): EditorView;
  /** The document's blocks. */
  field: StateField<Block[]>;
  host: OutputHost;
  /** The list of runs that match no block, below the editor. */
  others: OtherRuns;
}

/** Makes the output panels of runs and puts them in the editor, or apart from it. */
export class Panels {
  /** The output width in cells, measured again only when the editor's width changed. */
  private measured = { width: -1, cols: DEFAULT_COLS };

  constructor(private readonly deps: PanelDeps) {}

  /** The width a new panel's terminal gets (character cells): as many as fit the editor. */
  columns(): number {
    const width = this.deps.view().contentDOM.clientWidth;
    if (width !== this.measured.width) this.measured = { width, cols: fittingColumns(width) };
    return this.measured.cols;
  }

  /** The place of lines lineStart..lineEnd (1-based); a block's panel also replaces the one of its header. */
  placeOf(lineStart: number, lineEnd: number, panelFrom = lineStart, panelLine = lineEnd): Place {
    const doc = this.deps.view().state.doc;
    return { lineStart, lineEnd, panelFrom, panelLine: Math.min(panelLine, doc.lines), codeFrom: doc.line(lineStart).from, codeTo: doc.line(lineEnd).to };
  }

  /** A block's place: its panel under its last line (a Markdown block's closing fence). */
  blockPlace(block: Block): Place {
    return this.placeOf(block.lineStart, block.lineEnd, blockLines(block).first, blockLines(block).last);
  }

  /**
   * Shows a panel for run `runId` of `code` at `at`; `source` is the document text the code came
   * from (stale once that text changes), by default the text at `at` now.
   */
  panel(runId: string, code: string, at: Place, source?: string): PageRun {
    const view = this.deps.view();
    source ??= view.state.sliceDoc(at.codeFrom, at.codeTo);
    const output = new OutputView(runId, code, this.columns(), this.deps.host);
    const doc = view.state.doc;
    const pos = doc.line(at.panelLine).to;
    view.dispatch({ effects: showOutput.of({ pos, replaceFrom: doc.line(at.panelFrom).from, codeFrom: at.codeFrom, codeTo: at.codeTo, source, view: output }) });
    output.setStale(view.state.sliceDoc(at.codeFrom, at.codeTo) !== source);
    return { runId, view: output };
  }

  /** A panel for run `runId` of `code` under `block`: stale when the block's code is no longer the run's. */
  blockPanel(runId: string, code: string, block: Block): PageRun {
    return this.panel(runId, code, this.blockPlace(block), block.code === code ? undefined : code);
  }

  /**
   * Shows run `runId` of `code` at `where`: under a block (stale when its code is no longer the
   * run's), under lines (stale unless a selection of them still gives that code, a fence's rules
   * applied), or apart from the document.
   */
  showAt(runId: string, code: string, where: Placement): PageRun {
    if (!where) {
      const output = new OutputView(runId, code, this.columns(), this.deps.host);
      this.deps.others.add(code, output);
      return { runId, view: output };
    }
    if ('block' in where) return this.blockPanel(runId, code, where.block);
    const { state } = this.deps.view();
    const at = this.placeOf(where.lineStart, where.lineEnd);
    const selected = selectionRun(state.doc, at.codeFrom, at.codeTo, blockHolding(state.field(this.deps.field), at.lineStart)).code === code;
    return this.panel(runId, code, at, selected ? undefined : code);
  }

  /** A panel for run `runId` in the place of `old`'s: under the block that holds it, else apart (Re-run failed). */
  inPlaceOf(old: PageRun, runId: string): PageRun {
    const { state } = this.deps.view();
    const pos = outputPosition(state, old.view);
    const block = pos === undefined ? undefined : blockHolding(state.field(this.deps.field), state.doc.lineAt(pos).number);
    return block ? this.blockPanel(runId, old.view.code, block) : this.showAt(runId, old.view.code, undefined);
  }
}
