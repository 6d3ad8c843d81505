/**
 * How the page looks around the editor: the width of output panels in character cells, and the
 * editor's theme following the system's light or dark preference.
 */
import { HighlightStyle, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import { Compartment } from '@codemirror/state';
import { oneDark } from '@codemirror/theme-one-dark';
import type { EditorView } from '@codemirror/view';
import { DEFAULT_COLS } from './output-view.js';

/**
 * How many character cells fit in an output panel as wide as the editor's content (`width` px):
 * measured on a detached panel with the page's own styles, so font and padding are the real ones.
 */
export function fittingColumns(width: number): number {
  const probe = document.createElement('div');
  probe.className = 'output';
  probe.style.cssText = `position:absolute;visibility:hidden;left:-10000px;width:${width}px`;
  probe.innerHTML = '<div class="output-panel"><pre class="output-body"><span></span></pre></div>';
  const body = probe.querySelector('pre')!;
  const sample = body.firstElementChild as HTMLElement;
  sample.style.whiteSpace = 'pre'; // one unwrapped line, so its width is 200 cells
  sample.textContent = 'x'.repeat(200);
  document.body.append(probe);
  const style = getComputedStyle(body);
  const inner = body.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const cell = sample.getBoundingClientRect().width / 200;
  probe.remove();
  const cols = Math.floor(inner / cell);
  return Number.isFinite(cols) && cols >= 20 ? Math.min(cols, 1000) : DEFAULT_COLS;
}

/**
 * CodeMirror's light colours. basicSetup has them only as a fallback, which any other highlight
 * style (a Markdown document's heading sizes) turns off; so the light theme names them, with
 * headings bold but not underlined.
 */
const light = syntaxHighlighting(
  HighlightStyle.define([...defaultHighlightStyle.specs.filter((spec) => spec.tag !== tags.heading), { tag: tags.heading, fontWeight: 'bold' }]),
);

/** The editor's colours follow the system's light or dark preference, live. */
export function followColorScheme(view: () => EditorView): { extension: Compartment; initial: ReturnType<Compartment['of']> } {
  const theme = new Compartment();
  const dark = matchMedia('(prefers-color-scheme: dark)');
  dark.addEventListener('change', () => view().dispatch({ effects: theme.reconfigure(dark.matches ? oneDark : light) }));
  return { extension: theme, initial: theme.of(dark.matches ? oneDark : light) };
}
