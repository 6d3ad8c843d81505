/**
 * Keeping the editor and the file on disk in step without losing anyone's work: saves that refuse
 * to overwrite a file changed meanwhile (409), and changes on disk (another editor, `git
 * checkout`) that the server reports on GET /api/file/events. With no local edits the page takes
 * the disk version; with local edits the user chooses: merge (three-way, diff3), overwrite with
 * theirs... or keep editing. Every replacement of the text is one undo step, applied line by line
 * so output panels of unchanged blocks stay where they are. The editor works on `\n` line breaks
 * (CodeMirror normalises them); a save writes the file's own break back (`\r\n` stays `\r\n`).
 */
import { isolateHistory } from '@codemirror/commands';
import type { ChangeSpec } from '@codemirror/state';
import type { EditorView } from '@codemirror/view';
import { diffIndices, merge } from 'node-diff3';
import { lineBreakOf, normalizeLineBreaks, withLineBreak, type LineBreak } from '../src/blocks/line-breaks.js';
import { Api, ApiError } from './api.js';

/** The file as the server has it (FileSync keeps its text with `\n` line breaks). */
interface DiskFile {
  content: string;
  mtimeMs: number | null;
}

/** What the user chose in the conflict dialog. */
export type ConflictChoice = 'merge' | 'overwrite' | 'reload' | 'cancel';

/** What file sync needs from the page. */
export interface FileSyncHost {
  view(): EditorView;
  /** Shows the conflict dialog; `why` says what happened. */
  ask(why: string): Promise<ConflictChoice>;
  say(message: string): void;
  /** The dirty state may have changed. */
  changed(): void;
}

/** Waits before reconnect attempt `n` of the file event stream (ms): 500, 1000, ... up to 10 s. */
const backoff = (n: number) => Math.min(500 * 2 ** n, 10_000);

/**
 * The changes that turn `from` into `to`, one per differing run of lines (an LCS line diff), so
 * positions in unchanged lines map to themselves. Worked out on the texts with a final "\n" added
 * (every line then ends with a break), then moved back inside the real text.
 */
export function lineChanges(from: string, to: string): ChangeSpec[] {
  const a = from.split('\n');
  const b = to.split('\n');
  const offsets = [0];
  for (const line of a) offsets.push(offsets.at(-1)! + line.length + 1);
  const end = from.length + 1; // the length of `from` with the added break
  return diffIndices(a, b).map(({ buffer1: [start, length], buffer2: [start2, length2] }) => {
    let fromPos = offsets[start];
    let toPos = offsets[start + length];
    let insert = b.slice(start2, start2 + length2).map((line) => `${line}\n`).join('');
    if (fromPos === end) return { from: from.length, insert: `\n${insert.slice(0, -1)}` }; // lines added at the end
    if (toPos === end) {
      toPos -= 1;
      if (insert) insert = insert.slice(0, -1);
      else if (fromPos > 0) fromPos -= 1; // the last lines removed: and the break before them
    }
    return { from: fromPos, to: toPos, insert };
  });
}

export class FileSync {
  /** The file as last loaded from or saved to disk, with `\n` line breaks. */
  private base: DiskFile;
  /** The line break the file on disk uses, written back by saves. */
  private lineBreak: LineBreak;
  private asking = false;
  private stopped = false;

  constructor(
    private readonly api: Api,
    loaded: DiskFile,
    private readonly host: FileSyncHost,
  ) {
    this.lineBreak = lineBreakOf(loaded.content);
    this.base = { ...loaded, content: normalizeLineBreaks(loaded.content) };
  }

  /** GET /api/file, its text with `\n` breaks; the file's line break is remembered for saves. */
  private async readDisk(): Promise<DiskFile> {
    const disk = await this.api.json<DiskFile>('GET', '/api/file');
    if (disk.mtimeMs !== null) this.lineBreak = lineBreakOf(disk.content);
    return { ...disk, content: normalizeLineBreaks(disk.content) };
  }

  /** True while the editor's text differs from the file as last loaded or saved. */
  get dirty(): boolean {
    return this.host.view().state.doc.toString() !== this.base.content;
  }

  /** Saves the editor's text; a conflict asks the user. Resolves true when the text is on disk. */
  async save(): Promise<boolean> {
    const content = this.host.view().state.doc.toString();
    this.host.say('saving…');
    try {
      const body = { content: withLineBreak(content, this.lineBreak), baseMtimeMs: this.base.mtimeMs };
      const { mtimeMs } = await this.api.json<{ mtimeMs: number }>('PUT', '/api/file', body);
      this.base = { content, mtimeMs };
      this.host.changed();
      this.host.say(`saved ${new Date().toLocaleTimeString()}`);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await this.resolve('The file changed on disk since you loaded it, and you have edits of your own.');
        return !this.dirty;
      }
      this.host.say(`not saved: ${(err as Error).message}`);
      return false;
    }
  }

  /** The file changed on disk: take it, or ask when the editor has edits of its own. */
  async diskChanged(): Promise<void> {
    if (this.asking) return;
    const disk = await this.readDisk();
    const mine = this.host.view().state.doc.toString();
    if (disk.content === this.base.content || disk.content === mine) {
      this.base = disk; // the same text (a touch, or our own save)
      this.host.changed();
      return;
    }
    if (mine === this.base.content) {
      this.replace(disk.content);
      this.base = disk;
      this.host.changed();
      this.host.say('reloaded: the file changed on disk (Ctrl/Cmd+Z brings the previous text back)');
      return;
    }
    await this.resolve('Another program changed the file on disk while you have unsaved edits.', disk);
  }

  /** Asks merge / overwrite / reload / cancel and does it. */
  private async resolve(why: string, known?: DiskFile): Promise<void> {
    this.asking = true;
    try {
      const choice = await this.host.ask(why);
      const disk = known ?? (await this.readDisk());
      if (choice === 'merge') {
        const mine = this.host.view().state.doc.toString();
        const merged = merge(mine.split('\n'), this.base.content.split('\n'), disk.content.split('\n'), { label: { a: 'your edits', b: 'on disk' } });
        this.replace(merged.result.join('\n'));
        this.base = disk;
        this.host.say(merged.conflict ? 'merged: conflicting lines are marked <<<<<<< … >>>>>>> (Ctrl/Cmd+Z undoes the merge)' : 'merged the changes on disk into your edits (not saved yet)');
      } else if (choice === 'overwrite') {
        this.base = { ...this.base, mtimeMs: disk.mtimeMs };
        await this.save();
      } else if (choice === 'reload') {
        this.replace(disk.content);
        this.base = disk;
        this.host.say('reloaded from disk (Ctrl/Cmd+Z brings your edits back)');
      } else {
        this.host.say('kept your edits; the file on disk is different (saving will ask again)');
      }
      this.host.changed();
    } finally {
      this.asking = false;
    }
  }

  /** Replaces the editor's text with `text` as one undo step, changing only the lines that differ. */
  private replace(text: string): void {
    const view = this.host.view();
    view.dispatch({ changes: lineChanges(view.state.doc.toString(), text), annotations: isolateHistory.of('full') });
  }

  /**
   * Follows GET /api/file/events for the page's lifetime, reconnecting with backoff; after each
   * reconnect the file is checked once (a change may have happened meanwhile).
   */
  async watch(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.api.stream('/api/file/events', 0, (message) => {
          attempt = 0;
          if (message.event === 'change') void this.diskChanged().catch((err: Error) => this.host.say(`could not reload: ${err.message}`));
          if (message.event === 'shutdown') this.stopped = true;
        });
      } catch (err) {
        if (err instanceof ApiError && err.status < 500) return; // refused: nothing to watch
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, backoff(attempt)));
      void this.diskChanged().catch(() => {});
    }
  }
}
