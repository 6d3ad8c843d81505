/**
 * Drawing an xterm.js buffer as styled text: one logical line (a row and the rows wrapped after
 * it) becomes one element of text nodes and spans, with the 16 ANSI colours as classes (themed in
 * style.css), 256-colour and true-colour values as inline styles, and links found in the text.
 */
import type { IBuffer, IBufferCell, IBufferLine } from '@xterm/headless';

/** xterm's 256-colour palette entries 16-255 (6x6x6 cube, then 24 greys) as CSS colours. */
function palette256(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const level = (k: number) => (k === 0 ? 0 : 55 + k * 40);
  return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
}

const rgb = (c: number) => `rgb(${(c >> 16) & 255},${(c >> 8) & 255},${c & 255})`;

/** A run of cells with one style: CSS classes plus inline colours. */
interface Segment {
  text: string;
  classes: string;
  fg?: string;
  bg?: string;
}

function styleOf(cell: IBufferCell): Omit<Segment, 'text'> {
  const classes: string[] = [];
  let fg: string | undefined;
  let bg: string | undefined;
  if (cell.isFgPalette()) {
    const n = cell.getFgColor();
    if (n < 16) classes.push(`fg-${n}`);
    else fg = palette256(n);
  } else if (cell.isFgRGB()) fg = rgb(cell.getFgColor());
  if (cell.isBgPalette()) {
    const n = cell.getBgColor();
    if (n < 16) classes.push(`bg-${n}`);
    else bg = palette256(n);
  } else if (cell.isBgRGB()) bg = rgb(cell.getBgColor());
  if (cell.isBold()) classes.push('bold');
  if (cell.isDim()) classes.push('dim');
  if (cell.isItalic()) classes.push('italic');
  if (cell.isUnderline()) classes.push('underline');
  if (cell.isStrikethrough()) classes.push('strike');
  if (cell.isInverse()) classes.push('inverse');
  if (cell.isInvisible()) classes.push('invisible');
  return { classes: classes.join(' '), fg, bg };
}

/** Appends one buffer row's cells to `out` as segments (trailing blanks dropped if `trimRight`). */
function rowSegments(line: IBufferLine, out: Segment[], cell: IBufferCell, trimRight: boolean): void {
  const length = trimRight ? line.translateToString(true).length : line.length;
  let current: Segment | undefined;
  for (let x = 0, col = 0; x < line.length && col < length; x++) {
    line.getCell(x, cell);
    if (cell.getWidth() === 0) continue; // the right half of a wide character
    if (cell.isAttributeDefault() && current && !current.classes && !current.fg && !current.bg) {
      current.text += cell.getChars() || ' '; // most output has no style: no style object per cell
      col += Math.max(1, cell.getWidth());
      continue;
    }
    const style = styleOf(cell);
    if (!current || current.classes !== style.classes || current.fg !== style.fg || current.bg !== style.bg) {
      current = { text: '', ...style };
      out.push(current);
    }
    current.text += cell.getChars() || ' ';
    col += Math.max(1, cell.getWidth());
  }
}

/** A link found in output text: a web address, or a `file:line` place. */
export type Link = { kind: 'url'; url: string } | { kind: 'file'; path: string; line: number; column?: number };

/**
 * Web addresses, then `path:line[:col]` (compilers, grep -n, stack traces) and bash's
 * `path: line N:` error prefix. A path needs a slash or a file extension, so `12:30:45` and
 * `host:8080` are not links.
 */
const LINK = new RegExp(
  [
    String.raw`(https?:\/\/[^\s<>"'\x60]*[^\s<>"'\x60.,;:!?)\]}])`,
    String.raw`((?:~|\.{1,2})?\/?(?:[\w.@+-]+\/)*[\w@+-][\w.@+-]*\.[A-Za-z][\w]*|(?:~|\.{1,2})?\/(?:[\w.@+-]+\/)*[\w.@+-]+)(?::| line )(\d+)(?::(\d+))?`,
  ].join('|'),
  'g',
);

/** The links in `text`, as [start, end) offsets. */
export function findLinks(text: string): { start: number; end: number; link: Link }[] {
  const found: { start: number; end: number; link: Link }[] = [];
  for (const m of text.matchAll(LINK)) {
    const start = m.index;
    if (m[1]) found.push({ start, end: start + m[0].length, link: { kind: 'url', url: m[1] } });
    else found.push({ start, end: start + m[0].length, link: { kind: 'file', path: m[2], line: Number(m[3]), column: m[4] ? Number(m[4]) : undefined } });
  }
  return found;
}

function segmentNode(seg: Segment, text: string): Node {
  if (!seg.classes && !seg.fg && !seg.bg) return document.createTextNode(text);
  const span = document.createElement('span');
  span.textContent = text;
  if (seg.classes) span.className = seg.classes;
  if (seg.fg) span.style.color = seg.fg;
  if (seg.bg) span.style.backgroundColor = seg.bg;
  return span;
}

function linkElement(link: Link): HTMLAnchorElement {
  const a = document.createElement('a');
  a.className = 'output-link';
  if (link.kind === 'url') {
    a.href = link.url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  } else {
    a.href = '#';
    a.dataset.path = link.path;
    a.dataset.line = String(link.line);
    if (link.column) a.dataset.column = String(link.column);
  }
  return a;
}

/**
 * Draws logical line `row` (with the rows wrapped after it) into a new node (a text node when it
 * is plain text, else an element); returns it and the number of rows it spans. Every line but the
 * one ending at `lastRow` ends with "\n".
 */
export function drawLogicalLine(buffer: IBuffer, row: number, lastRow: number): { el: ChildNode; rows: number } {
  const cell = buffer.getNullCell();
  const segments: Segment[] = [];
  let end = row;
  while (end < lastRow && buffer.getLine(end + 1)?.isWrapped) end++;
  for (let y = row; y <= end; y++) rowSegments(buffer.getLine(y)!, segments, cell, y === end);
  const text = segments.map((s) => s.text).join('');
  const links = text.includes(':') ? findLinks(text) : [];
  const rows = end - row + 1;
  const newline = end < lastRow ? '\n' : '';
  // A line of plain text (most output) is a text node: half the nodes to make and lay out.
  if (links.length === 0 && segments.every((s) => !s.classes && !s.fg && !s.bg)) return { el: document.createTextNode(text + newline), rows };
  const el = document.createElement('span');
  // Walk the segments and cut them at link boundaries; link parts go inside <a>.
  let offset = 0;
  let li = 0;
  let anchor: { el: HTMLAnchorElement; for: number } | undefined;
  for (const seg of segments) {
    let from = 0;
    while (from < seg.text.length) {
      const at = offset + from;
      while (li < links.length && links[li].end <= at) li++;
      const link = links[li];
      const inLink = link !== undefined && link.start <= at;
      const stop = Math.min(seg.text.length, (inLink ? link.end : (link?.start ?? Infinity)) - offset);
      const node = segmentNode(seg, seg.text.slice(from, stop));
      if (inLink) {
        if (anchor?.for !== li) {
          anchor = { el: linkElement(link.link), for: li };
          el.append(anchor.el);
        }
        anchor.el.append(node);
      } else {
        el.append(node);
      }
      from = stop;
    }
    offset += seg.text.length;
  }
  if (newline) el.append(newline);
  return { el, rows };
}

/** The last row with any text (-1 when there is none): the rows after it are the blank screen. */
export function lastContentRow(buffer: IBuffer): number {
  let last = buffer.length - 1;
  while (last >= 0 && buffer.getLine(last)!.translateToString(true) === '') last--;
  return last;
}

/** The buffer's text: logical lines joined by "\n", trailing blank rows dropped. */
export function bufferText(buffer: IBuffer): string {
  const lines: string[] = [];
  const last = lastContentRow(buffer);
  for (let y = 0; y <= last; y++) {
    const line = buffer.getLine(y)!;
    const text = line.translateToString(y === last || !buffer.getLine(y + 1)?.isWrapped);
    if (line.isWrapped && lines.length) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  return lines.join('\n');
}
