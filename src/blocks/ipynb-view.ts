/**
 * A Jupyter notebook as the page edits it: a Markdown view of its cells, read back into the
 * notebook on save. Code cells are fences of the kernel's language carrying the cell's id
 * (```` ```bash {id=a1b2} ````), so they run as blocks; markdown and raw cells are prose after a
 * marker comment (`<!-- markdown cell id=a1b3 -->`). Saving keeps everything of each cell the view
 * does not show (metadata, attachments, outputs of cells not run) by its id; cells removed from the
 * view are removed, new fences and prose become new cells. No I/O; the view is parsed with
 * @lezer/markdown (CommonMark), as runbooks are.
 */
import { parser } from '@lezer/markdown';
import { joinSource, multiline, notebookLanguage, type CellRun, type Notebook, type NotebookCell, cellOutputs } from './ipynb.js';
import { parseFenceInfo } from './fence.js';
import { backtickFence } from './outputs.js';

const MARKER = /^<!-- (markdown|raw) cell(?: id=(\S+))? -->$/;

/** The id a cell has in the view: its own, else (nbformat before 4.5) its position. */
const viewId = (cell: NotebookCell, i: number) => (typeof cell.id === 'string' ? cell.id : `cell-${i + 1}`);

/** The cell ids notebookView shows of `nb`. */
export const viewIds = (nb: Notebook): Set<string> => new Set(nb.cells.map(viewId));

/** The fence language of the notebook's code cells: its kernel language, `bash` by default. */
const codeLanguage = (nb: Notebook) => (notebookLanguage(nb) ?? 'bash').toLowerCase();

/** The Markdown view of `nb` (see the module's comment). */
export function notebookView(nb: Notebook): string {
  const language = codeLanguage(nb);
  return nb.cells
    .map((cell, i) => {
      const source = joinSource(cell.source).replace(/\n$/, '');
      if (cell.cell_type === 'code') {
        const fence = backtickFence(source);
        return `${fence}${language} {id=${viewId(cell, i)}}\n${source ? `${source}\n` : ''}${fence}\n`;
      }
      return `<!-- ${cell.cell_type === 'raw' ? 'raw' : 'markdown'} cell id=${viewId(cell, i)} -->\n${source ? `${source}\n` : ''}`;
    })
    .join('\n');
}

/** One cell of a view: its type, the id it carries (if any) and its source. */
interface ViewCell {
  type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string;
}

/**
 * The cells of a view, in order. A fence of the code language is a code cell, unless it has no id
 * and `keeps` says the prose cell it is in (by that cell's id) had it already: a markdown cell's
 * own example fence stays in it.
 */
function viewCells(view: string, language: string, keeps: (proseId: string, fence: string) => boolean): ViewCell[] {
  const text = view.replace(/\r\n?/g, '\n');
  const cells: ViewCell[] = [];
  let prose: { type: 'markdown' | 'raw'; id?: string; from: number } | undefined;
  const closeProse = (to: number) => {
    if (!prose) return;
    const source = text.slice(prose.from, to).replace(/^\n+/, '').replace(/\s+$/, '');
    if (source || prose.id) cells.push({ type: prose.type, ...(prose.id ? { id: prose.id } : {}), source });
    prose = undefined;
  };
  const top = parser.parse(text).topNode;
  for (let node = top.firstChild; node; node = node.nextSibling) {
    const nodeText = text.slice(node.from, node.to);
    const marker = /Comment|HTML/.test(node.name) ? MARKER.exec(nodeText.trim()) : null;
    if (marker) {
      closeProse(node.from);
      prose = { type: marker[1] as 'markdown' | 'raw', ...(marker[2] ? { id: marker[2] } : {}), from: node.to };
      continue;
    }
    if (node.name === 'FencedCode') {
      const info = node.getChild('CodeInfo');
      const { language: lang, attributes } = parseFenceInfo(info ? text.slice(info.from, info.to) : '');
      const own = !attributes.id && prose?.id !== undefined && keeps(prose.id, nodeText);
      if ((lang.toLowerCase() === language || attributes.id) && !own) {
        closeProse(node.from);
        const lines = nodeText.split('\n');
        const closed = node.getChildren('CodeMark').length > 1;
        cells.push({ type: 'code', ...(attributes.id ? { id: attributes.id } : {}), source: lines.slice(1, closed ? -1 : undefined).join('\n') });
        continue;
      }
    }
    prose ??= { type: 'markdown', from: node.from };
  }
  closeProse(text.length);
  return cells;
}

/** What a code cell's source last gave in this session: its run and execution count. */
export type CellResult = (code: string) => { run: CellRun; count: number } | undefined;

/**
 * The notebook the view describes, on the basis of `original` (the notebook on disk): cells found
 * by id (a cell shown without one: by its type and source, else by order) keep everything the view does not show;
 * a changed source replaces theirs; a code cell that
 * ran in this session (`result`) gets that run's outputs and execution count.
 * @param shown the cell ids of the view the page was given (notebookView): a cell the view shows
 *   without an id is never given one of those Notebook metadata
 * and members other than cells are `original`'s.
 */
export function notebookFromView(view: string, original: Notebook, result: CellResult = () => undefined, shown: ReadonlySet<string> = new Set()): Notebook {
  const byId = new Map(original.cells.map((cell, i) => [viewId(cell, i), cell]));
  const withIds = original.nbformat_minor >= 5;
  const used = new Set<string>();
  const parsed = viewCells(view, codeLanguage(original), (id, fence) => byId.get(id)?.cell_type !== 'code' && joinSource(byId.get(id)?.source).includes(fence));
  // A cell the view shows without its id (one added on the page, saved since) is the cell of the
  // same type and source that no other view cell names: it keeps the id that save gave it.
  const named = new Set(parsed.flatMap((vc) => (vc.id !== undefined && byId.has(vc.id) ? [vc.id] : [])));
  // (A cell whose id the page was shown and no longer has was removed there.)
  const unnamed = original.cells.flatMap((cell, i) => (named.has(viewId(cell, i)) || shown.has(viewId(cell, i)) ? [] : [viewId(cell, i)]));
  const sameSource = (other: string, vc: ViewCell) => joinSource(byId.get(other)!.source).replace(/\n$/, '') === vc.source;
  const free = (other: string, vc: ViewCell) => !used.has(other) && byId.get(other)!.cell_type === vc.type;
  const cells = parsed.map((vc): NotebookCell => {
    let id = vc.id !== undefined && byId.has(vc.id) ? vc.id : undefined;
    // Else the same source; else (edited since) the next such cell in order.
    id ??= unnamed.find((other) => free(other, vc) && sameSource(other, vc)) ?? unnamed.find((other) => free(other, vc) && !parsed.some((p) => p.id === undefined && p !== vc && sameSource(other, p)));
    const known = id !== undefined && !used.has(id) ? byId.get(id) : undefined;
    if (id !== undefined) used.add(id);
    let cell: NotebookCell;
    if (known && known.cell_type === vc.type) {
      cell = structuredClone(known);
      if (joinSource(cell.source).replace(/\n$/, '') !== vc.source) cell.source = multiline(vc.source);
    } else {
      cell = { cell_type: vc.type, metadata: {}, source: multiline(vc.source) };
      if (withIds) cell.id = globalThis.crypto.randomUUID().slice(0, 8);
      if (vc.type === 'code') Object.assign(cell, { execution_count: null, outputs: [] });
    }
    const ran = vc.type === 'code' ? result(vc.source) : undefined;
    if (ran) Object.assign(cell, { execution_count: ran.count, outputs: cellOutputs(ran.run) });
    return cell;
  });
  return { ...structuredClone(original), cells };
}
