/**
 * The editor side of the notebook, as CodeMirror 6 extensions: the script's blocks (recomputed on
 * every change with the shared splitter), the block under the cursor marked, and output panels
 * kept under their blocks as block widgets that move with edits above them.
 */
import { RangeSetBuilder, StateEffect, StateField, type EditorState, type Extension } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType, type DecorationSet } from '@codemirror/view';
import { blockLines, type Block } from '../src/blocks/split.js';
import type { BlockSplitter } from '../src/blocks/parser.js';
import type { OutputView } from './output-view.js';
import { runGutter } from './run-gutter.js';

/** The blocks of the current document, from the splitter. */
export function blocksField(split: BlockSplitter): StateField<Block[]> {
  return StateField.define<Block[]>({
    create: (state) => split(state.doc.toString()),
    update: (blocks, tr) => (tr.docChanged ? split(tr.state.doc.toString()) : blocks),
  });
}

/** The block whose lines (blockLines: `# %%` marker or fences included) hold `line`. */
export function blockHolding(blocks: readonly Block[], line: number): Block | undefined {
  return blocks.find((b) => line >= blockLines(b).first && line <= blockLines(b).last);
}

/** The block that holds the line of `pos`, else the next block below it, else the last one. */
export function blockAt(blocks: readonly Block[], state: EditorState, pos: number): Block | undefined {
  const line = state.doc.lineAt(pos).number;
  return blockHolding(blocks, line) ?? blocks.find((b) => b.lineStart > line) ?? blocks.at(-1);
}

const blockLine = Decoration.line({ class: 'cm-block' });
const fenceLine = Decoration.line({ class: 'cm-block cm-block-fence' });
const currentLine = Decoration.line({ class: 'cm-block cm-block-current' });
const markerLine = Decoration.line({ class: 'cm-block-header' });
const currentMarkerLine = Decoration.line({ class: 'cm-block-header cm-block-current' });
const markerSign = Decoration.mark({ class: 'cm-block-sign' });

/**
 * Line decorations: every block's lines, the current block's lines marked, `# %%` headers. A
 * Markdown fence is shaded from its opening to its closing fence, and marked current only while the
 * cursor is inside it (prose never belongs to a block).
 */
function blockDecorations(field: StateField<Block[]>): Extension {
  return EditorView.decorations.compute([field, 'selection'], (state) => {
    const blocks = state.field(field);
    const head = state.selection.main.head;
    const at = blockAt(blocks, state, head);
    const current = at?.fence && at !== blockHolding(blocks, state.doc.lineAt(head).number) ? undefined : at;
    const builder = new RangeSetBuilder<Decoration>();
    for (const block of blocks) {
      if (block.fence) {
        for (let n = block.fence.openLine; n <= Math.min(block.fence.closeLine, state.doc.lines); n++) {
          const from = state.doc.line(n).from;
          builder.add(from, from, block === current ? currentLine : fenceLine);
        }
        continue;
      }
      if (block.markerLine) {
        const line = state.doc.line(block.markerLine);
        builder.add(line.from, line.from, block === current ? currentMarkerLine : markerLine);
        const sign = /^#\s?%%/.exec(line.text);
        if (sign) builder.add(line.from, line.from + sign[0].length, markerSign);
      }
      for (let n = block.lineStart; n <= block.lineEnd; n++) {
        const from = state.doc.line(n).from;
        builder.add(from, from, block === current ? currentLine : blockLine);
      }
    }
    return builder.finish();
  });
}

class OutputWidget extends WidgetType {
  constructor(readonly view: OutputView) {
    super();
  }
  eq(other: OutputWidget): boolean {
    return other.view === this.view;
  }
  toDOM(): HTMLElement {
    return this.view.dom;
  }
  ignoreEvent(): boolean {
    return true; // selecting and copying output text is the panel's own business
  }
}

/**
 * Puts `view` under the line ending at `pos`, replacing the outputs anchored in [replaceFrom, pos].
 * [codeFrom, codeTo] is the text that ran: while it differs from `source` (the document's text when
 * it ran, which a Markdown fence's code was taken from), the output is stale.
 */
export const showOutput = StateEffect.define<{ pos: number; replaceFrom: number; codeFrom: number; codeTo: number; source: string; view: OutputView }>({
  map: (value, mapping) => ({
    ...value,
    pos: mapping.mapPos(value.pos, 1),
    replaceFrom: mapping.mapPos(value.replaceFrom, -1),
    codeFrom: mapping.mapPos(value.codeFrom, -1),
    codeTo: mapping.mapPos(value.codeTo, 1),
  }),
});

/** Removes the panels of runs that are over (queued and running ones stay). */
export const clearOutputs = StateEffect.define<null>();

/** Output panels (block widgets) and the code ranges they ran (marks never drawn, only mapped). */
interface Outputs {
  widgets: DecorationSet;
  sources: DecorationSet;
}

/** The output panels, as block widgets that map through document changes. */
export const outputsField = StateField.define<Outputs>({
  create: () => ({ widgets: Decoration.none, sources: Decoration.none }),
  update(outputs, tr) {
    let widgets = outputs.widgets.map(tr.changes);
    let sources = outputs.sources.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(clearOutputs)) {
        const over = (deco: Decoration) => !(deco.spec.widget ? (deco.spec.widget as OutputWidget).view : (deco.spec.view as OutputView)).active;
        widgets = widgets.update({ filter: (_f, _t, deco) => !over(deco) });
        sources = sources.update({ filter: (_f, _t, deco) => !over(deco) });
      }
      if (!effect.is(showOutput)) continue;
      const { pos, replaceFrom, codeFrom, codeTo, source, view } = effect.value;
      const replaced = new Set<OutputView>();
      widgets = widgets.update({
        filter: (from, _to, deco) => {
          const keep = from < replaceFrom || from > pos;
          if (!keep) replaced.add((deco.spec.widget as OutputWidget).view);
          return keep;
        },
        add: [Decoration.widget({ widget: new OutputWidget(view), block: true, side: 1 }).range(pos)],
      });
      sources = sources.update({
        filter: (_from, _to, deco) => !replaced.has(deco.spec.view as OutputView),
        // A mark may not be empty (CodeMirror throws): output of empty lines has no source to track.
        add: codeTo > codeFrom ? [Decoration.mark({ view, source, inclusive: true }).range(codeFrom, codeTo)] : [],
      });
    }
    return { widgets, sources };
  },
  provide: (field) => EditorView.decorations.from(field, (outputs) => outputs.widgets),
});

/** Marks outputs whose code was edited since it ran as stale, and the others as current. */
export const markStaleOutputs = EditorView.updateListener.of((update) => {
  if (!update.docChanged) return;
  const { doc } = update.state;
  update.state.field(outputsField).sources.between(0, doc.length, (from, to, deco) => {
    (deco.spec.view as OutputView).setStale(doc.sliceString(from, to) !== deco.spec.source);
  });
});

/** The output panel under `block` (anchored at the end of its last line), if it has one. */
export function blockOutput(state: EditorState, block: Block): OutputView | undefined {
  const pos = state.doc.line(Math.min(blockLines(block).last, state.doc.lines)).to;
  let found: OutputView | undefined;
  state.field(outputsField).widgets.between(pos, pos, (_f, _t, deco) => {
    found = (deco.spec.widget as OutputWidget).view;
  });
  return found;
}

/** Where `view`'s panel hangs (the end of the line above it), if it is in the document. */
export function outputPosition(state: EditorState, view: OutputView): number | undefined {
  let found: number | undefined;
  state.field(outputsField).widgets.between(0, state.doc.length, (from, _t, deco) => {
    if ((deco.spec.widget as OutputWidget).view === view) found = from;
  });
  return found;
}

/** Every output panel in the document, top to bottom. */
export function outputViews(state: EditorState): OutputView[] {
  const views: OutputView[] = [];
  state.field(outputsField).widgets.between(0, state.doc.length, (_f, _t, deco) => {
    views.push((deco.spec.widget as OutputWidget).view);
  });
  return views;
}

/** How a block control runs blocks: this one, the ones above it, below it, or it and below. */
export type RunScope = 'block' | 'above' | 'below' | 'from';

/**
 * The blocks a scope runs, relative to `block`, in script order. Blocks marked excludeFromRunAll
 * run only by themselves (scope `block`), as Run all leaves them out.
 */
export function blocksFor(blocks: readonly Block[], block: Block, scope: RunScope): Block[] {
  const included = (list: readonly Block[]) => list.filter((b) => !b.excludeFromRunAll);
  switch (scope) {
    case 'block':
      return [block];
    case 'above':
      return included(blocks.slice(0, block.index));
    case 'below':
      return included(blocks.slice(block.index + 1));
    case 'from':
      return included(blocks.slice(block.index));
  }
}

/** The blocks Run all runs: every one but those marked excludeFromRunAll. */
export function runAllBlocks(blocks: readonly Block[]): Block[] {
  return blocks.filter((b) => !b.excludeFromRunAll);
}

/**
 * The run controls: the menu's label, what the shortcut list says, the keys as shown and as
 * CodeMirror binds them.
 */
export const RUN_ACTIONS: { scope: RunScope; label: string; description: string; keys: string; key: string }[] = [
  { scope: 'block', label: 'Run block', description: 'Run block (or the selected lines)', keys: 'Ctrl/Cmd+Enter', key: 'Mod-Enter' },
  { scope: 'above', label: 'Run above', description: 'Run every block above this one', keys: 'Ctrl+Shift+↑', key: 'Ctrl-Shift-ArrowUp' },
  { scope: 'below', label: 'Run below', description: 'Run every block below this one', keys: 'Ctrl+Shift+↓', key: 'Ctrl-Shift-ArrowDown' },
  { scope: 'from', label: 'Run from here', description: 'Run this block and every block below', keys: 'Ctrl+Alt+Enter', key: 'Ctrl-Alt-Enter' },
];

/** An entry of a popup menu: what choosing it gives, its label, and a note on the right (keys). */
export interface MenuItem<T> {
  value: T;
  label: string;
  detail?: string;
}

/**
 * A small popup menu next to `anchor` (named `name` for assistive technology). Arrow keys move,
 * Enter chooses, Escape closes; `done` gets the chosen value, or undefined when closed without a
 * choice. `heading` is shown above the items; with no items, `empty` is shown instead.
 */
export function openMenu<T>(anchor: HTMLElement, name: string, entries: MenuItem<T>[], done: (value: T | undefined) => void, text: { heading?: string; empty?: string } = {}): void {
  document.querySelector('.run-menu')?.remove();
  const menu = document.createElement('div');
  menu.className = 'run-menu';
  menu.setAttribute('role', 'menu');
  menu.setAttribute('aria-label', name);
  const items = entries.map((entry, i) => {
    const item = document.createElement('button');
    item.type = 'button';
    item.setAttribute('role', 'menuitem');
    item.dataset.index = String(i);
    if (typeof entry.value === 'string') item.dataset.value = entry.value;
    item.innerHTML = '<span></span><kbd></kbd>';
    item.firstElementChild!.textContent = entry.label;
    item.lastElementChild!.textContent = entry.detail ?? '';
    return item;
  });
  const note = (className: string, content: string) => {
    const p = document.createElement('p');
    p.className = className;
    p.textContent = content;
    p.tabIndex = -1;
    return p;
  };
  if (text.heading) menu.append(note('run-menu-heading', text.heading));
  menu.append(...items);
  if (items.length === 0) menu.append(note('run-menu-empty', text.empty ?? ''));
  const box = anchor.getBoundingClientRect();
  menu.style.left = `${box.left}px`;
  menu.style.top = `${box.bottom + 2}px`;
  let closed = false;
  const close = (value: T | undefined) => {
    if (closed) return;
    closed = true;
    menu.remove();
    removeEventListener('pointerdown', outside, true);
    done(value);
  };
  const outside = (event: Event) => {
    if (!menu.contains(event.target as Node)) close(undefined);
  };
  menu.addEventListener('click', (event) => {
    const item = (event.target as Element).closest('[role=menuitem]') as HTMLElement | null;
    if (item) close(entries[Number(item.dataset.index)].value);
  });
  menu.addEventListener('keydown', (event) => {
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === 'ArrowDown' && items.length) items[(at + 1) % items.length].focus();
    else if (event.key === 'ArrowUp' && items.length) items[(at - 1 + items.length) % items.length].focus();
    else if (event.key === 'Escape' || event.key === 'Tab') close(undefined);
    else return;
    event.preventDefault();
  });
  addEventListener('pointerdown', outside, true);
  document.body.append(menu);
  (items[0] ?? menu.lastElementChild)?.focus();
}

/**
 * The block menu: the run actions, Re-run failed when `failedHosts` of the block's fleet run
 * failed, then History (the block's earlier runs). `done` gets the chosen scope, 'rerun-failed' or
 * 'history', or undefined when closed without a choice.
 */
export function openRunMenu(anchor: HTMLElement, done: (scope: RunScope | 'rerun-failed' | 'history' | undefined) => void, failedHosts = 0): void {
  const items: MenuItem<RunScope | 'rerun-failed' | 'history'>[] = RUN_ACTIONS.map((action) => ({ value: action.scope, label: action.label, detail: action.keys }));
  if (failedHosts > 0) items.push({ value: 'rerun-failed', label: 'Re-run failed', detail: `${failedHosts} ${failedHosts === 1 ? 'host' : 'hosts'}` });
  items.push({ value: 'history', label: 'History', detail: 'earlier runs' });
  openMenu(anchor, 'Run', items, done);
}

/**
 * CodeMirror hides every gutter from assistive technology (aria-hidden on .cm-gutters); the run
 * gutter's buttons are real controls, so only the other gutters (line numbers, folding) stay hidden.
 */
const exposeRunGutter = ViewPlugin.define((view) => {
  const expose = () => {
    const gutters = view.dom.querySelector('.cm-gutters');
    if (!gutters?.hasAttribute('aria-hidden')) return;
    gutters.removeAttribute('aria-hidden');
    for (const other of gutters.querySelectorAll(':scope > .cm-gutter:not(.cm-run-gutter)')) other.setAttribute('aria-hidden', 'true');
  };
  queueMicrotask(expose); // after every plugin, the gutters among them, is constructed
  return { update: expose };
});

/** The notebook extensions: blocks, their marking, run controls, and the output panels. */
export function notebook(field: StateField<Block[]>, run: (block: Block, scope: RunScope | 'menu', anchor: HTMLElement) => void): Extension {
  return [field, runGutter(field, run), exposeRunGutter, blockDecorations(field), outputsField, markStaleOutputs];
}
