/**
 * Clear outputs: the panels of runs that are over leave the page, and stay off it after a reload
 * of this tab (sessionStorage): their run ids, and when the user last cleared (older runs too).
 */
import type { EditorView } from '@codemirror/view';
import { clearOutputs, outputViews } from './notebook.js';

const CLEARED_KEY = 'cmdrun-cleared';
/** When Clear outputs was last used (epoch ms): earlier runs from before it stay off the page. */
const CLEARED_AT_KEY = 'cmdrun-cleared-at';

export class ClearedRuns {
  /** The run ids cleared in this tab (the last 500). */
  readonly ids = new Set<string>(JSON.parse(sessionStorage.getItem(CLEARED_KEY) ?? '[]') as string[]);

  /** When Clear outputs was last used in this tab (epoch ms; 0: never). */
  get at(): number {
    return Number(sessionStorage.getItem(CLEARED_AT_KEY) ?? 0);
  }

  /** Removes the panels of runs that are over from `view`; returns what to say (`cleared 3 outputs`). */
  clear(view: EditorView): string {
    const over = outputViews(view.state).filter((v) => !v.active);
    for (const output of over) {
      this.ids.add(output.runId);
      output.dispose();
    }
    sessionStorage.setItem(CLEARED_KEY, JSON.stringify([...this.ids].slice(-500)));
    sessionStorage.setItem(CLEARED_AT_KEY, String(Date.now()));
    view.dispatch({ effects: clearOutputs.of(null) });
    return `cleared ${over.length} output${over.length === 1 ? '' : 's'}`;
  }
}
