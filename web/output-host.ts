/** What output panels ask of the page's editor: re-measure, take the focus back, open `file:line` links. */
import type { EditorView } from '@codemirror/view';
import type { OutputHost } from './output-view.js';

/**
 * The output panels' host for the editor `view()` of script `name`; `say` writes the status bar.
 * A link to the script's own lines moves the cursor there; other files' places are copied for the
 * user's editor.
 */
export function outputHost(view: () => EditorView, name: string, say: (message: string) => void): OutputHost {
  return {
    resized: () => view().requestMeasure(),
    inputClosed: () => view().focus(),
    say,
    openLink(link) {
      const editor = view();
      const base = link.path.split('/').pop();
      if (base === name && link.line >= 1 && link.line <= editor.state.doc.lines) {
        const line = editor.state.doc.line(link.line);
        editor.dispatch({ selection: { anchor: Math.min(line.from + Math.max(0, (link.column ?? 1) - 1), line.to) }, scrollIntoView: true });
        editor.focus();
        return;
      }
      const place = `${link.path}:${link.line}${link.column ? `:${link.column}` : ''}`;
      navigator.clipboard.writeText(place).then(
        () => say(`copied ${place}: open it in your editor`),
        () => say(place),
      );
    },
  };
}
