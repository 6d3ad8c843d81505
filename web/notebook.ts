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

/** Puts `view` under the line ending at `pos`, replacing outputs anchored in [replaceFrom, pos]. */
export const showOutput = StateEffect.define<{ pos: number; replaceFrom: number; view: OutputView }>({
  map: (value, mapping) => ({ ...value, pos: mapping.mapPos(value.pos, 1), replaceFrom: mapping.mapPos(value.replaceFrom, -1) }),
});

/** Removes every output panel. */
export const clearOutputs = StateEffect.define<null>();

/** The output panels, as block widgets that map through document changes. */
export const outputsField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(outputs, tr) {
    outputs = outputs.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(clearOutputs)) outputs = Decoration.none;
      if (effect.is(showOutput)) {
        const { pos, replaceFrom, view } = effect.value;
        outputs = outputs.update({
          filter: (from) => from < replaceFrom || from > pos,
          add: [Decoration.widget({ widget: new OutputWidget(view), block: true, side: 1 }).range(pos)],
        });
      }
    }
    return outputs;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The notebook extensions: blocks, their marking, and the output panels. */
export function notebook(field: StateField<Block[]>): Extension {
  return [field, blockDecorations(field), outputsField];
}
