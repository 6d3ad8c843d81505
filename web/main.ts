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
import { Api, ApiError } from './api.js';
import { blockAt, blocksField, notebook, showOutput } from './notebook.js';
import { DEFAULT_COLS, OutputView } from './output-view.js';

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

interface QueuedRun {
  runId: string;
  cols: number;
  code: string;
  lineStart: number;
  lineEnd: number;
  view: OutputView;
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
  const queue: QueuedRun[] = [];
  let running = false;
  let current: QueuedRun | undefined;

  const interrupt = (run: QueuedRun | undefined = current): void => {
    if (!run) return;
    api.json('POST', `/api/runs/${run.runId}/interrupt`, {}).catch((err: Error) => setText('message', `interrupt failed: ${err.message}`));
  };

  const updateDirty = () => {
    const dirty = view.state.doc.toString() !== savedText;
    setText('file-name', `${name}${dirty ? ' •' : ''}`);
    $('file-name').dataset.dirty = String(dirty);
  };

  const pump = async () => {
    if (running) return;
    const next = queue.shift();
    if (!next) return;
    running = true;
    current = next;
    setText('session-status', 'busy');
    const send = (data: string) =>
      api.json('POST', `/api/runs/${next.runId}/input`, { data }).catch((err: Error) => setText('message', `input not sent: ${err.message}`));
    next.view.onInputClosed = () => view.focus();
    try {
      await api.run({ code: next.code, runId: next.runId, lineStart: next.lineStart, lineEnd: next.lineEnd, cols: next.cols }, (event) => {
        if (event.event === 'start') next.view.started(send, () => interrupt(next));
        else if (event.event === 'waiting') next.view.waiting();
        else if (event.event === 'queued') next.view.queued(event.data.position);
        else if (event.event === 'output') next.view.write(event.data.text);
        else if (event.event === 'error') next.view.failed(event.data.message);
        else if (event.event === 'end') {
          next.view.ended(event.data);
          setText('session-cwd', event.data.cwd);
        }
      });
      setText('connection', 'connected');
    } catch (err) {
      next.view.failed(err instanceof ApiError ? err.message : `connection lost (${(err as Error).message})`);
      if (!(err instanceof ApiError)) setText('connection', 'disconnected');
    } finally {
      running = false;
      current = undefined;
      setText('session-status', queue.length ? 'busy' : 'idle');
      void pump();
    }
  };

  /** Queues a run of lines lineStart..lineEnd (code as given) with its panel under lineEnd. */
  const runLines = (code: string, lineStart: number, lineEnd: number, panelFrom: number) => {
    const runId = newRunId();
    const cols = fittingColumns(view.contentDOM.clientWidth);
    const output = new OutputView(runId, cols, () => view.requestMeasure());
    const doc = view.state.doc;
    view.dispatch({ effects: showOutput.of({ pos: doc.line(lineEnd).to, replaceFrom: doc.line(panelFrom).from, view: output }) });
    queue.push({ runId, cols, code, lineStart, lineEnd, view: output });
    if (running || queue.length > 1) output.queued();
    void pump();
  };

  const runBlock = (block: Block) => runLines(block.code, block.lineStart, block.lineEnd, block.markerLine ?? block.lineStart);

  /** Runs the selection, or the block at the cursor; returns the block run (if not a selection). */
  const runCurrent = (): Block | undefined => {
    const { state } = view;
    const sel = state.selection.main;
    if (!sel.empty) {
      const first = state.doc.lineAt(sel.from).number;
      const last = state.doc.lineAt(sel.to).number;
      runLines(state.sliceDoc(sel.from, sel.to), first, last, first);
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
    // Runs waiting in the page are dropped: they were meant for the old shell's state.
    for (const run of queue.splice(0)) run.view.ended({ exitCode: 130, durationMs: 0, interrupted: true, sessionRestarted: false, cancelled: true });
    setText('session-status', 'restarting');
    try {
      const session = await api.json<{ cwd: string }>('POST', '/api/session/restart', {});
      setText('session-cwd', session.cwd);
      setText('message', 'shell restarted: all state was reset');
    } catch (err) {
      setText('message', `restart failed: ${(err as Error).message}`);
    }
    setText('session-status', running ? 'busy' : 'idle');
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
  view.focus();
  document.body.dataset.ready = 'true';
}

startPage().catch((err: Error) => {
  setText('message', `cmdrun could not start: ${err.message}`);
});
