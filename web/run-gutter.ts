/**
 * The run gutter: a Run button and a menu button on each block's first line, as CodeMirror gutter
 * markers (web/notebook.ts wires it).
 */
import { RangeSet, RangeSetBuilder, StateField, type EditorState, type Extension } from '@codemirror/state';
import { EditorView, GutterMarker, gutter } from '@codemirror/view';
import type { Block } from '../src/blocks/split.js';
import { fleetName, isFleet } from './fleet-labels.js';
import { blockAt, type RunScope } from './notebook.js';

/** The run button (and its menu button) on a block's first line. */
class RunMarker extends GutterMarker {
  constructor(readonly block: Block) {
    super();
  }
  eq(other: RunMarker): boolean {
    const [a, b] = [other.block, this.block];
    return a.index === b.index && a.title === b.title && a.excludeFromRunAll === b.excludeFromRunAll && a.interpreter === b.interpreter && a.on === b.on && a.onError === b.onError;
  }
  toDOM(): Node {
    const box = document.createElement('div');
    box.className = ['cm-run-controls', this.block.excludeFromRunAll && 'cm-run-excluded', this.block.onError && 'cm-run-bad-target'].filter(Boolean).join(' ');
    const what = [this.block.title, this.block.interpreter, this.block.excludeFromRunAll ? 'not in Run all' : undefined].filter(Boolean).join(', ');
    // Where it runs, when the block names a target: "Run block 2 (Check) on ssh://db1"; a fleet
    // by its label ("on @web: 12 hosts"), asked again each time the tooltip shows (runs teach it).
    const on = this.block.on;
    const where = () => (on === undefined ? '' : ` on ${isFleet(on) ? fleetName(on) : on}`);
    const name = `block ${this.block.index + 1}${what ? ` (${what})` : ''}`;
    const run = document.createElement('button');
    run.type = 'button';
    run.className = 'cm-run-button';
    run.dataset.action = 'block';
    run.tabIndex = -1; // keyboard users have Ctrl+Enter; Tab should not stop at every block
    run.textContent = '▶';
    const label = () => {
      run.title = `Run ${name}${where()} (Ctrl/Cmd+Enter)${this.block.onError ? `\n${this.block.onError}` : ''}`;
      run.setAttribute('aria-label', `Run ${name}${where()}`);
    };
    label();
    run.addEventListener('pointerenter', label);
    run.addEventListener('focus', label);
    run.setAttribute('aria-keyshortcuts', 'Control+Enter');
    const more = document.createElement('button');
    more.type = 'button';
    more.className = 'cm-run-menu-button';
    more.dataset.action = 'menu';
    more.tabIndex = -1;
    more.textContent = '⋯';
    more.title = 'More: run above, below, from here; history';
    more.setAttribute('aria-label', `More ways to run ${name}${where()}`);
    more.setAttribute('aria-haspopup', 'menu');
    box.append(run, more);
    return box;
  }
}

/**
 * The run gutter: a Run button and a menu button on each block's first line. `run` gets the
 * block and scope; `anchor` is the button (for the menu).
 */
export function runGutter(field: StateField<Block[]>, run: (block: Block, scope: RunScope | 'menu', anchor: HTMLElement) => void): Extension {
  const markers = (state: EditorState) => {
    const builder = new RangeSetBuilder<GutterMarker>();
    for (const block of state.field(field)) {
      const line = block.markerLine ?? block.lineStart;
      if (line <= state.doc.lines) builder.add(state.doc.line(line).from, state.doc.line(line).from, new RunMarker(block));
    }
    return builder.finish();
  };
  const gutterMarkers = StateField.define<RangeSet<GutterMarker>>({
    create: markers,
    update: (value, tr) => (tr.docChanged ? markers(tr.state) : value),
  });
  const buttonOf = (event: Event) => (event.target as Element).closest('button') as HTMLElement | null;
  const activate = (view: EditorView, from: number, button: HTMLElement) => {
    const block = blockAt(view.state.field(field), view.state, from);
    if (block) run(block, button.dataset.action as RunScope | 'menu', button);
  };
  /** The control a press went down on, and its line; whether the last release ran it (no click then). */
  let pressed: { from: number; button: HTMLElement } | undefined;
  let clickedOnRelease = false;
  return [
    gutterMarkers,
    gutter({
      class: 'cm-run-gutter',
      markers: (view) => view.state.field(gutterMarkers),
      domEventHandlers: {
        mousedown(_view, line, event) {
          clickedOnRelease = false;
          const button = buttonOf(event);
          pressed = button && (event as MouseEvent).button === 0 ? { from: line.from, button } : undefined;
          return false;
        },
        // The browser clicks a button pressed and released on; one the gutter drew again in
        // between (the page laid out anew while output streamed above) is gone, and gets no
        // click: a release on the same control of the same line is that click.
        mouseup(view, line, event) {
          const was = pressed;
          pressed = undefined;
          const button = buttonOf(event);
          if (!was || !button || was.button.isConnected || (event as MouseEvent).button !== 0) return false;
          if (was.from !== line.from || was.button.dataset.action !== button.dataset.action) return false;
          clickedOnRelease = true;
          activate(view, line.from, button);
          return true;
        },
        click(view, line, event) {
          const button = buttonOf(event);
          if (!button) return false;
          // Not after a release that ran the control already (no click is expected then; never twice).
          if (!(clickedOnRelease && (event as MouseEvent).detail > 0)) activate(view, line.from, button);
          clickedOnRelease = false;
          return true;
        },
      },
    }),
  ];
}
