/**
 * A Jupyter notebook opened on the page (`cmdrun notebook.ipynb`): the file the server reads and
 * saves is the .ipynb, the text the page edits its Markdown view (ipynb-view.ts). A save reads the
 * view back into the notebook on disk, keeping what the view does not show, with the outputs of
 * this session's runs; it is atomic and refused on a change on disk as for any document.
 */
import { notebookFromView, notebookView, viewIds, type CellResult } from '../blocks/ipynb-view.js';
import { basename } from 'node:path';
import { checkShellNotebook, newNotebook, notebookText, parseNotebook, type Notebook } from '../blocks/ipynb.js';
import { ScriptFile, type FileSnapshot } from './script-file.js';

export class NotebookFile extends ScriptFile {
  /** The notebook as last read or saved: what a save keeps cells' hidden parts from. */
  private notebook: Notebook | undefined;
  /** The cell ids of the view last read: cells the page was shown (viewIds). */
  private shown = new Set<string>();

  /**
   * @param result what a code cell's source last gave in this session (its run and count), for
   *   the outputs a save writes
   */
  constructor(
    path: string,
    private readonly result: CellResult,
  ) {
    super(path);
  }

  /**
   * The notebook's Markdown view (a notebook that does not exist yet is an empty bash notebook).
   * @throws NotebookError when the file on disk is no shell notebook.
   */
  override async read(): Promise<FileSnapshot> {
    const disk = await super.read();
    if (disk.mtimeMs === null) {
      this.notebook = newNotebook([]);
      return disk;
    }
    const notebook = parseNotebook(disk.content, basename(this.path));
    checkShellNotebook(notebook, basename(this.path));
    this.notebook = notebook;
    this.shown = viewIds(notebook);
    return { ...disk, content: notebookView(notebook) };
  }

  /** The notebook the view `content` makes (what a save writes): the page's Export of a notebook. */
  notebookOf(content: string): Notebook {
    return notebookFromView(content, this.notebook ?? newNotebook([]), this.result, this.shown);
  }

  /** Saves the view `content` into the notebook (ScriptFile.save's rules and errors). */
  override async save(content: string, baseMtimeMs: number | null): Promise<number> {
    const notebook = this.notebookOf(content);
    const mtimeMs = await super.save(notebookText(notebook), baseMtimeMs);
    this.notebook = notebook;
    return mtimeMs;
  }
}
