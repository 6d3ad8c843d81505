/**
 * The editor side of the notebook, as CodeMirror 6 extensions: the script's blocks (recomputed on
 * every change with the shared splitter), the block under the cursor marked, and output panels
 * kept under their blocks as block widgets that move with edits above them.
 */
import { RangeSetBuilder, StateEffect, StateField, type EditorState, type Extension } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view';
import type { Block } from '../src/blocks/split.js';
import type { BlockSplitter } from '../src/blocks/parser.js';
import type { OutputView } from './output-view.js';

/** The blocks of the current document, from the splitter. */
export function blocksField(split: BlockSplitter): StateField<Block[]> {
  return StateField.define<Block[]>({
    create: (state) => split(state.doc.toString()),
    update: (blocks, tr) => (tr.docChanged ? split(tr.state.doc.toString()) : blocks),
  });
}

/** The block that holds the line of `pos`, else the next block below it, else the last one. */
export function blockAt(blocks: readonly Block[], state: EditorState, pos: number): Block | undefined {
  const line = state.doc.lineAt(pos).number;
  return (
    blocks.find((b) => line >= (b.markerLine ?? b.lineStart) && line <= b.lineEnd) ??
    blocks.find((b) => b.lineStart > line) ??
    blocks.at(-1)
  );
}

const blockLine = Decoration.line({ class: 'cm-block' });
const currentLine = Decoration.line({ class: 'cm-block cm-block-current' });
const markerLine = Decoration.line({ class: 'cm-block-marker' });

/** Line decorations: every block's lines, the current block's lines marked, `# %%` headers. */
function blockDecorations(field: StateField<Block[]>): Extension {
  return EditorView.decorations.compute([field, 'selection'], (state) => {
    const blocks = state.field(field);
    const current = blockAt(blocks, state, state.selection.main.head);
    const builder = new RangeSetBuilder<Decoration>();
    for (const block of blocks) {
      if (block.markerLine) builder.add(state.doc.line(block.markerLine).from, state.doc.line(block.markerLine).from, markerLine);
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
 * [codeFrom, codeTo] is the text that ran: while it differs from `view.code`, the output is stale.
 */
export const showOutput = StateEffect.define<{ pos: number; replaceFrom: number; codeFrom: number; codeTo: number; view: OutputView }>({
  map: (value, mapping) => ({
    ...value,
    pos: mapping.mapPos(value.pos, 1),
    replaceFrom: mapping.mapPos(value.replaceFrom, -1),
    codeFrom: mapping.mapPos(value.codeFrom, -1),
    codeTo: mapping.mapPos(value.codeTo, 1),
  }),
});

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
      if (!effect.is(showOutput)) continue;
      const { pos, replaceFrom, codeFrom, codeTo, view } = effect.value;
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
        add: [Decoration.mark({ view, inclusive: true }).range(codeFrom, Math.max(codeFrom, codeTo))],
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
    const view = deco.spec.view as OutputView;
    view.setStale(doc.sliceString(from, to) !== view.code);
  });
});

/** The notebook extensions: blocks, their marking, and the output panels. */
export function notebook(field: StateField<Block[]>): Extension {
  return [field, blockDecorations(field), outputsField, markStaleOutputs];
}
