/**
 * The page's **Keep outputs in the document** (Markdown runbooks): when it is on, each block run
 * that ends writes its output into the runbook under the block's closing fence (src/blocks/
 * outputs.ts, the same regions as `cmdrun run --write-outputs`), and **Remove outputs** takes
 * them all out. Both are edits like any other: one CodeMirror transaction (one undo step) that
 * changes only the lines of the region, so the user's typing elsewhere is untouched, saved by the
 * page's save path (FileSync: atomic, 409 on a change on disk, three-way merge). When the editor
 * had no unsaved edits before, the change is saved at once; otherwise it waits for the user's save.
 * The toggle is remembered per document in the page's localStorage (`cmdrun-keep-outputs:<path>`).
 */
import { isolateHistory } from '@codemirror/commands';
import { Transaction } from '@codemirror/state';
import type { EditorView } from '@codemirror/view';
import { clearOutputs, writeOutputs, type OutputFilter } from '../src/blocks/outputs.js';
import type { Block } from '../src/blocks/split.js';
import type { EndData } from '../src/runs/run.js';
import { lineChanges, type FileSync } from './file-sync.js';
import type { PageRun } from './runs.js';

/** What the document outputs need from the page. */
export interface DocumentOutputsHost {
  view(): EditorView;
  /** The blocks of the editor's text now. */
  blocks(): readonly Block[];
  files(): FileSync;
  say(message: string): void;
}

/** The localStorage key of the toggle for the document at `path`. */
const storageKey = (path: string) => `cmdrun-keep-outputs:${path}`;

export class DocumentOutputs {
  /** The code of each block run this page started, by runId (selections are not written). */
  private readonly blockRuns = new Map<string, string>();
  /** Writes and saves happen one at a time, each on the text the one before left. */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * @param filter every output text passes through it before it is written: the hook for secret
   *   masking (issue 18) and fleets' grouped outputs (issue 19); none until those land.
   */
  private readonly toggle: HTMLInputElement;

  /**
   * Shows the toolbar's toggle (`#keep-outputs` in `#keep-outputs-label`) and `#remove-outputs`
   * button, hidden for other documents, and wires them.
   */
  constructor(
    private readonly host: DocumentOutputsHost,
    path: string,
    private readonly filter?: OutputFilter,
  ) {
    const toggle = (this.toggle = document.getElementById('keep-outputs') as HTMLInputElement);
    const removeButton = document.getElementById('remove-outputs')!;
    for (const element of [document.getElementById('keep-outputs-label')!, removeButton]) element.hidden = false;
    toggle.checked = localStorage.getItem(storageKey(path)) === 'on';
    toggle.addEventListener('change', () => {
      if (toggle.checked) localStorage.setItem(storageKey(path), 'on');
      else localStorage.removeItem(storageKey(path));
      host.say(toggle.checked ? 'outputs of the next runs are written into the document under their fence' : 'outputs are no longer written into the document');
    });
    removeButton.addEventListener('click', () => void this.remove());
  }

  /** True while Keep outputs in the document is on. */
  get keeping(): boolean {
    return this.toggle.checked;
  }

  /** Remembers in `outputs` (if any) that `run` is a run of a block's `code` (only those are written); returns `run`. */
  static track(outputs: DocumentOutputs | undefined, run: PageRun, code: string): PageRun {
    outputs?.blockRuns.set(run.runId, code);
    return run;
  }

  /** A run ended: with the toggle on, its output goes under its block's fence. */
  ended(run: PageRun, end: EndData, startedAt: number | undefined): void {
    const code = this.blockRuns.get(run.runId);
    this.blockRuns.delete(run.runId);
    if (code === undefined || end.cancelled || !this.keeping) return;
    this.queue(async () => {
      const text = await run.view.settledText();
      const block = this.host.blocks().find((b) => b.code === code && b.fence?.closed);
      if (!block) return this.host.say('output not written into the document: its block changed or is gone');
      const doc = this.host.view().state.doc.toString();
      const output = { text, exitCode: end.exitCode, durationMs: end.durationMs, ...(startedAt !== undefined ? { startedAt } : {}) };
      await this.apply(writeOutputs(doc, this.host.blocks(), new Map([[block.index, output]]), { filter: this.filter }), `output of ${block.name ?? block.title ?? `block ${block.index + 1}`} written into the document`);
    });
  }

  /** Removes every output region from the document (one undo step). */
  remove(): Promise<void> {
    return this.queue(async () => {
      const doc = this.host.view().state.doc.toString();
      const next = clearOutputs(doc, this.host.blocks());
      if (next === doc) return this.host.say('the document has no outputs in it');
      await this.apply(next, 'outputs removed from the document');
    });
  }

  private queue(task: () => Promise<void>): Promise<void> {
    const next = this.tail.then(task).catch((err: Error) => this.host.say(`outputs in the document: ${err.message}`));
    this.tail = next;
    return next;
  }

  /** Changes the editor's text to `next` as one undo step; saves it when there was nothing else unsaved. */
  private async apply(next: string, said: string): Promise<void> {
    const view = this.host.view();
    const doc = view.state.doc.toString();
    if (next === doc) return;
    const files = this.host.files();
    const clean = !files.dirty;
    view.dispatch({ changes: lineChanges(doc, next), annotations: [isolateHistory.of('full'), Transaction.userEvent.of('cmdrun.outputs')] });
    if (!clean) return this.host.say(`${said} (not saved yet: the document has other unsaved edits)`);
    if (await files.save()) this.host.say(`${said} and saved`);
  }
}
