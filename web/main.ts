/**
 * The notebook page: loads the script, shows it in CodeMirror, and runs blocks through the API,
 * one at a time in the order asked, streaming each block's output into a panel under it.
 */
import { isolateHistory } from '@codemirror/commands';
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { loadBlockSplitter } from '../src/blocks/parser.js';
import type { Block } from '../src/blocks/split.js';
import type { RunSummary } from '../src/session/run.js';
import { Api, ApiError } from './api.js';
import { blockAt, blocksField, notebook, showOutput } from './notebook.js';
import { DEFAULT_COLS, OutputView } from './output-view.js';
import { RunFollower, type PageRun } from './runs.js';

const TOKEN_KEY = 'cmdrun-token';

/** Takes the token from the URL fragment into sessionStorage and removes it from the address bar. */
function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

/** A random run id (base64url-safe characters). */
function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * How many character cells fit in an output panel as wide as the editor's content (`width` px):
 * measured on a detached panel with the page's own styles, so font and padding are the real ones.
 */
function fittingColumns(width: number): number {
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

async function startPage(): Promise<void> {
  const token = takeToken();
  if (!token) {
    setText('message', 'No token: open the URL that cmdrun printed (it ends with #token=…).');
    return;
  }
  const api = new Api(token);
  const [file, split] = await Promise.all([
    api.json<{ path: string; content: string; mtimeMs: number | null }>('GET', '/api/file'),
    loadBlockSplitter({
      runtime: new URL('web-tree-sitter.wasm', location.href).href,
      bash: new URL('tree-sitter-bash.wasm', location.href).href,
    }),
  ]);
  const name = file.path.split('/').pop() ?? file.path;
  document.title = `${name} · cmdrun`;
  let baseMtimeMs = file.mtimeMs;
  let savedText = file.content;

  const field = blocksField(split);
  let current: PageRun | undefined;

  const interrupt = (run: PageRun | undefined = current): void => {
    if (!run) return;
    api.json('POST', `/api/runs/${run.runId}/interrupt`, {}).catch((err: Error) => setText('message', `interrupt failed: ${err.message}`));
  };
  const send = (run: PageRun, data: string) =>
    api.json('POST', `/api/runs/${run.runId}/input`, { data }).catch((err: Error) => setText('message', `input not sent: ${err.message}`));
  const follower = new RunFollower(
    api,
    {
      connection: (state) => setText('connection', state),
      running: (run) => {
        current = run;
        setText('session-status', run ? 'busy' : 'idle');
      },
      cwd: (path) => setText('session-cwd', path),
    },
    send,
    interrupt,
  );

  const updateDirty = () => {
    const dirty = view.state.doc.toString() !== savedText;
    setText('file-name', `${name}${dirty ? ' •' : ''}`);
    $('file-name').dataset.dirty = String(dirty);
  };

  /**
   * Shows a panel for run `runId` of `code` under line `lineEnd`, replacing the panels of lines
   * panelFrom..lineEnd; [codeFrom, codeTo] is the text that ran (for the stale mark).
   */
  const panel = (runId: string, code: string, cols: number, at: { lineEnd: number; panelFrom: number; codeFrom: number; codeTo: number }): PageRun => {
    const output = new OutputView(runId, code, cols, () => view.requestMeasure());
    output.onInputClosed = () => view.focus();
    const doc = view.state.doc;
    const pos = doc.line(at.lineEnd).to;
    view.dispatch({ effects: showOutput.of({ pos, replaceFrom: doc.line(at.panelFrom).from, codeFrom: at.codeFrom, codeTo: at.codeTo, view: output }) });
    output.setStale(view.state.sliceDoc(at.codeFrom, at.codeTo) !== code);
    return { runId, view: output };
  };

  /** Posts a run of `code` (lines lineStart..lineEnd) to the server's queue and follows it. */
  const runLines = (code: string, lineStart: number, lineEnd: number, panelFrom: number, codeFrom: number, codeTo: number) => {
    const cols = fittingColumns(view.contentDOM.clientWidth);
    const run = panel(newRunId(), code, cols, { lineEnd, panelFrom, codeFrom, codeTo });
    const body = { code, runId: run.runId, lineStart, lineEnd, cols };
    // A network error is retried with the same runId: the server never runs it twice.
    const post = async (attempt: number): Promise<void> => {
      try {
        await api.json('POST', '/api/runs', body);
        follower.add(run);
      } catch (err) {
        if (err instanceof ApiError || attempt >= 3) {
          run.view.failed((err as Error).message);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
        return post(attempt + 1);
      }
    };
    void post(0);
  };

  /** Shows the server's runs again after a reload: each under the block it ran, by text and position. */
  const restore = async (): Promise<void> => {
    const runs = await api.json<RunSummary[]>('GET', '/api/runs');
    const doc = view.state.doc;
    for (const summary of runs) {
      const blocks = view.state.field(field);
      const same = blocks.filter((b) => b.code === summary.code);
      const nearest = (summary.lineStart ?? 1);
      const block = same.sort((x, y) => Math.abs(x.lineStart - nearest) - Math.abs(y.lineStart - nearest))[0];
      let at;
      if (block) {
        at = { lineEnd: block.lineEnd, panelFrom: block.markerLine ?? block.lineStart, codeFrom: doc.line(block.lineStart).from, codeTo: doc.line(block.lineEnd).to };
      } else {
        // The block changed since it ran: show the output where it was, marked stale.
        const lineEnd = Math.min(summary.lineEnd ?? doc.lines, doc.lines);
        const lineStart = Math.min(summary.lineStart ?? lineEnd, lineEnd);
        at = { lineEnd, panelFrom: lineStart, codeFrom: doc.line(lineStart).from, codeTo: doc.line(lineEnd).to };
      }
      follower.add(panel(summary.runId, summary.code, fittingColumns(view.contentDOM.clientWidth), at));
    }
  };

  const runBlock = (block: Block) => {
    const doc = view.state.doc;
    runLines(block.code, block.lineStart, block.lineEnd, block.markerLine ?? block.lineStart, doc.line(block.lineStart).from, doc.line(block.lineEnd).to);
  };

  /** Runs the selection, or the block at the cursor; returns the block run (if not a selection). */
  const runCurrent = (): Block | undefined => {
    const { state } = view;
    const sel = state.selection.main;
    if (!sel.empty) {
      const first = state.doc.lineAt(sel.from).number;
      const last = state.doc.lineAt(sel.to).number;
      runLines(state.sliceDoc(sel.from, sel.to), first, last, first, sel.from, sel.to);
      return undefined;
    }
    const block = blockAt(state.field(field), state, sel.head);
    if (block) runBlock(block);
    return block;
  };

  const runAndAdvance = (): boolean => {
    const block = runCurrent();
    const blocks = view.state.field(field);
    const next = block ? blocks[block.index + 1] : undefined;
    const pos = next ? view.state.doc.line(next.lineStart).from : view.state.doc.length;
    view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    return true;
  };

  const save = async (): Promise<boolean> => {
    const content = view.state.doc.toString();
    setText('message', 'saving…');
    try {
      const { mtimeMs } = await api.json<{ mtimeMs: number }>('PUT', '/api/file', { content, baseMtimeMs });
      baseMtimeMs = mtimeMs;
      savedText = content;
      updateDirty();
      setText('message', `saved ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const choice = await askConflict();
        if (choice === 'overwrite') {
          baseMtimeMs = (err.body.mtimeMs ?? null) as number | null;
          return save();
        }
        if (choice === 'reload') {
          await reload();
          return false;
        }
        setText('message', 'not saved: the file changed on disk (your edits are still here)');
        return false;
      }
      setText('message', `not saved: ${(err as Error).message}`);
      return false;
    }
    return true;
  };

  /** Shows the save-conflict dialog; resolves with overwrite, reload or cancel. */
  const askConflict = (): Promise<string> => {
    const dialog = $<HTMLDialogElement>('conflict');
    dialog.querySelector('.conflict-name')!.textContent = name;
    dialog.returnValue = 'cancel';
    dialog.showModal();
    return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue || 'cancel'), { once: true }));
  };

  /** Replaces the text with the file on disk as one undoable change: Ctrl+Z brings the edits back. */
  const reload = async (): Promise<void> => {
    const disk = await api.json<{ content: string; mtimeMs: number | null }>('GET', '/api/file');
    // Its own undo step, never merged with the typing just before it.
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: disk.content }, annotations: isolateHistory.of('full') });
    baseMtimeMs = disk.mtimeMs;
    savedText = disk.content;
    updateDirty();
    setText('message', 'reloaded from disk (Ctrl/Cmd+Z brings your edits back)');
    view.focus();
  };

  const view = new EditorView({
    parent: $('editor'),
    state: EditorState.create({
      doc: file.content,
      extensions: [
        Prec.highest(
          keymap.of([
            { key: 'Shift-Enter', run: runAndAdvance },
            { key: 'Mod-Enter', run: () => (runCurrent(), true) },
            { key: 'Mod-s', run: () => (void save(), true), preventDefault: true },
            // Ctrl+C interrupts while a block runs, unless text is selected (then it copies).
            { key: 'Ctrl-c', run: (v) => (current !== undefined && v.state.selection.main.empty ? (interrupt(), true) : false) },
          ]),
        ),
        basicSetup,
        StreamLanguage.define(shell),
        // Wrapped lines keep the content as wide as the view, so output panels never scroll sideways.
        EditorView.lineWrapping,
        notebook(field),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) updateDirty();
        }),
        EditorView.contentAttributes.of({ 'aria-label': `${name} (script editor)` }),
      ],
    }),
  });
  updateDirty();
  setText('connection', 'connected');
  setText('session-status', 'idle');
  setText('message', file.mtimeMs === null ? `${name} does not exist yet: it is created when you save` : '');

  $('run-all').addEventListener('click', () => {
    for (const block of view.state.field(field)) runBlock(block);
  });
  $('save').addEventListener('click', () => void save());
  $('interrupt').addEventListener('click', () => interrupt());
  $('restart').addEventListener('click', async () => {
    setText('session-status', 'restarting');
    try {
      const session = await api.json<{ cwd: string }>('POST', '/api/session/restart', {});
      setText('session-cwd', session.cwd);
      setText('message', 'shell restarted: all state was reset');
    } catch (err) {
      setText('message', `restart failed: ${(err as Error).message}`);
    }
    setText('session-status', current ? 'busy' : 'idle');
  });
  addEventListener('beforeunload', (event) => {
    if (view.state.doc.toString() !== savedText) event.preventDefault();
  });
  api
    .json<{ shell: string; cwd: string }>('GET', '/api/session')
    .then((s) => {
      setText('session-shell', s.shell);
      setText('session-cwd', s.cwd);
    })
    .catch(() => {});
  await restore().catch((err: Error) => setText('message', `could not restore outputs: ${err.message}`));
  view.focus();
  document.body.dataset.ready = 'true';
}

startPage().catch((err: Error) => {
  setText('message', `cmdrun could not start: ${err.message}`);
});
