/**
 * Outputs in the document: a Markdown runbook's blocks carry their last output right after their
 * closing fence, as a marker comment and a plain `text` fence:
 *
 *     ```sh {name=greet}
 *     echo hello
 *     ```
 *
 *     <!-- cmdrun-output block="greet" exit=0 duration="4 ms" time="2026-12-05 12:50:01" -->
 *     ```text
 *     hello
 *     ```
 *
 * The comment is a CommonMark HTML block (0.31, 4.6 type 2): renderers show nothing of it; the
 * `text` fence is data (fence.ts), so it never runs and is never a block; its fence is longer than
 * any backtick run in the output (CommonMark 4.5). Regions are written and recognised only here, in
 * the container of their fence (a block quote's `> `, a list item's indentation). Everything else in
 * the document is kept byte for byte, line breaks included (LF, CRLF, CR). No I/O: the server,
 * `cmdrun run` and the page share it.
 */
import { formatDuration, formatTime } from '../runs/format.js';
import { lineBreakOf } from './line-breaks.js';
import type { Block } from './split.js';

/** The output of one block's run, as written into the document. */
export interface DocumentOutput {
  /**
   * What the terminal shows of the output: plain text with `\n` breaks, escape sequences removed and
   * progress lines resolved (transcript.ts terminalText), already masked (see OutputFilter).
   */
  text: string;
  /** The exit status; undefined when the run has none (an error, an unfinished run). */
  exitCode?: number;
  /** Duration in ms. */
  durationMs?: number;
  /** Start time, epoch ms. */
  startedAt?: number;
  /** Lines left out of `text` already, between its first and its last ones (a very long output). */
  omittedLines?: number;
}

/**
 * Every output text passes through one of these before it is written into a document: the hook
 * where secrets are masked (issue 18) and a fleet's grouped outputs are formed (issue 19).
 * The identity until those land.
 */
export type OutputFilter = (text: string, block: Block) => string;

/** Lines of one output kept in the document by default (`--write-outputs-lines`). */
export const DEFAULT_OUTPUT_LINES = 200;

/** The marker comment's start: what tells an output region from the document's own text. */
const MARKER = '<!-- cmdrun-output';
const MARKER_LINE = /^<!-- cmdrun-output(?:\s.*)?-->\s*$/;
const OUTPUT_FENCE = /^(`{3,})text\s*$/;

/** One line of the document and the break after it (`''` for a last line without one). */
interface Line {
  text: string;
  eol: string;
}

/** The document's lines, each with its own break (CommonMark 2.1: `\n`, `\r\n`, a lone `\r`). */
function linesOf(source: string): Line[] {
  const lines: Line[] = [];
  const re = /\r\n|\r|\n/g;
  let start = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    lines.push({ text: source.slice(start, m.index), eol: m[0] });
    start = m.index + m[0].length;
  }
  lines.push({ text: source.slice(start), eol: '' });
  return lines;
}

const joinLines = (lines: readonly Line[]) => lines.map((l) => l.text + l.eol).join('');

/** An output region found after a block's closing fence; 0-based line indexes, inclusive. */
interface Region {
  /** The first line: the blank line before the marker, or the marker when there is none. */
  first: number;
  marker: number;
  last: number;
}

/** The container markup before a fence on its closing line (`> `, a list item's spaces). */
function prefixOf(line: string): string {
  const at = line.search(/[`~]/);
  return at < 0 ? '' : line.slice(0, at);
}

/** `line` without the container prefix (or without its trimmed form, for a blank line). */
function unprefixed(line: string, prefix: string): string | undefined {
  if (line.startsWith(prefix)) return line.slice(prefix.length);
  if (line === prefix.trimEnd()) return '';
  return undefined;
}

/** The output region right after line `close` (0-based) in the container `prefix`, if any. */
function regionAfter(lines: readonly Line[], close: number, prefix: string): Region | undefined {
  let i = close + 1;
  const first = i;
  if (i < lines.length && unprefixed(lines[i].text, prefix)?.trim() === '') i++;
  const marker = i;
  if (!MARKER_LINE.test(unprefixed(lines[marker]?.text ?? '', prefix) ?? '')) return undefined;
  const open = OUTPUT_FENCE.exec(unprefixed(lines[marker + 1]?.text ?? '', prefix) ?? '');
  if (!open) return undefined;
  const closing = new RegExp(`^\`{${open[1].length},}\\s*$`);
  for (let j = marker + 2; j < lines.length; j++) {
    const text = unprefixed(lines[j].text, prefix);
    if (text === undefined) return undefined;
    if (closing.test(text)) return { first, marker, last: j };
  }
  return undefined;
}

/** A fence of backticks longer than any backtick run in `text`, at least 3 (CommonMark 4.5). */
export function backtickFence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * `text`'s lines, at most `maxLines` of them (`omittedLines` more were between them already): a longer output keeps its first `ceil(maxLines / 2)`
 * and last `floor(maxLines / 2)` lines around one line saying how many were left out. Trailing
 * white space of each line is removed (a terminal shows none; a progress line overwritten with
 * spaces keeps them in its cells).
 */
export function keptLines(text: string, maxLines: number, omittedLines = 0): string[] {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n').map((line) => line.trimEnd());
  if (lines.length <= maxLines && omittedLines === 0) return lines;
  // With omitted lines, `text` is a head and a tail of about the same length: the note goes between.
  const half = omittedLines ? Math.floor(lines.length / 2) : lines.length;
  const head = Math.min(Math.ceil(maxLines / 2), half);
  const tail = Math.min(maxLines - Math.ceil(maxLines / 2), omittedLines ? lines.length - half : lines.length - head);
  const left = lines.length - head - tail + omittedLines;
  return [...lines.slice(0, head), `… ${left} line${left === 1 ? '' : 's'} left out …`, ...(tail ? lines.slice(-tail) : [])];
}

/** The name a region gives its block: its `name`, title, else `block N`. */
function blockName(block: Block): string {
  return block.name ?? block.title ?? `block ${block.index + 1}`;
}

/** The marker comment of an output (its attributes JSON-quoted where they hold spaces). */
function markerLine(block: Block, output: DocumentOutput): string {
  const parts = [MARKER, `block=${JSON.stringify(blockName(block).replace(/--/g, '- -'))}`];
  parts.push(`exit=${output.exitCode ?? 'none'}`);
  if (output.durationMs !== undefined) parts.push(`duration="${formatDuration(output.durationMs)}"`);
  if (output.startedAt !== undefined) parts.push(`time="${formatTime(output.startedAt)}"`);
  return `${parts.join(' ')} -->`;
}

/** The block= and exit= of a marker line: what decides whether a new run changes the region. */
const markerKey = (line: string) => /block=("(?:[^"\\]|\\.)*") exit=(\S+)/.exec(line)?.slice(1).join(' ');

/** Options of writeOutputs. */
export interface WriteOutputsOptions {
  /** Lines kept per output (keptLines); default DEFAULT_OUTPUT_LINES. */
  maxLines?: number;
  /** Applied to every output text before it is written (OutputFilter); default none. */
  filter?: OutputFilter;
}

/** The blocks whose output can be written: Markdown fences that are closed. */
const writable = (blocks: readonly Block[]) => blocks.filter((b) => b.fence?.closed);

/**
 * Writes each block's output after its closing fence: a block with an entry in `outputs` gets a
 * new region in place of its old one; a block without one keeps its old region (or none). A region
 * whose block name, exit status and lines equal the new ones is left as it is (so its time and
 * duration too): running twice with the same outputs changes nothing. Fences never closed, and
 * blocks of a shell script, get none.
 * @param source the document, any line breaks (new lines are written with its first one)
 * @param blocks the document's blocks (splitMarkdown of `source`)
 * @param outputs by Block.index
 * @returns the new document (`source` itself when nothing changed)
 */
export function writeOutputs(source: string, blocks: readonly Block[], outputs: ReadonlyMap<number, DocumentOutput>, options: WriteOutputsOptions = {}): string {
  const lines = linesOf(source);
  const lineBreak = lineBreakOf(source);
  const maxLines = options.maxLines ?? DEFAULT_OUTPUT_LINES;
  let changed = false;
  // From the last block up, so earlier line indexes stay valid.
  for (const block of writable(blocks).reverse()) {
    const output = outputs.get(block.index);
    if (!output) continue;
    const close = block.fence!.closeLine - 1;
    const prefix = prefixOf(lines[close].text);
    const text = options.filter ? options.filter(output.text, block) : output.text;
    const body = keptLines(text, maxLines, output.omittedLines);
    const fence = backtickFence(body.join('\n'));
    const marker = markerLine(block, output);
    const region = [marker, `${fence}text`, ...body, fence].map((l) => (l === '' ? prefix.trimEnd() : prefix + l));
    const old = regionAfter(lines, close, prefix);
    if (old) {
      const oldBody = lines.slice(old.marker + 2, old.last).map((l) => unprefixed(l.text, prefix));
      const same = markerKey(lines[old.marker].text) === markerKey(marker) && oldBody.length === body.length && oldBody.every((l, i) => l === body[i]);
      if (same) continue;
      const eol = lines[old.last].eol;
      const replacement = region.map((text, i) => ({ text, eol: i === region.length - 1 ? eol : lineBreak }));
      lines.splice(old.marker, old.last - old.marker + 1, ...replacement);
    } else {
      const eol = lines[close].eol;
      lines[close] = { ...lines[close], eol: lineBreak };
      const inserted = [prefix.trimEnd(), ...region].map((text, i, all) => ({ text, eol: i === all.length - 1 ? eol : lineBreak }));
      lines.splice(close + 1, 0, ...inserted);
    }
    changed = true;
  }
  return changed ? joinLines(lines) : source;
}

/**
 * Removes every output region (writeOutputs) from the document: the marker, its `text` fence and
 * the blank line before it, so a document whose regions cmdrun added is as it was before.
 * @returns the new document (`source` itself when it had none)
 */
export function clearOutputs(source: string, blocks: readonly Block[]): string {
  const lines = linesOf(source);
  let changed = false;
  for (const block of writable(blocks).reverse()) {
    const close = block.fence!.closeLine - 1;
    const region = regionAfter(lines, close, prefixOf(lines[close].text));
    if (!region) continue;
    lines[close] = { ...lines[close], eol: lines[region.last].eol };
    lines.splice(region.first, region.last - region.first + 1);
    changed = true;
  }
  return changed ? joinLines(lines) : source;
}

/**
 * The 1-based line ranges of the document's output regions (from the blank line before the marker
 * to the closing fence), by Block.index: what transcripts leave out of the prose.
 */
export function outputRegions(source: string, blocks: readonly Block[]): Map<number, { first: number; last: number }> {
  const lines = linesOf(source);
  const found = new Map<number, { first: number; last: number }>();
  for (const block of writable(blocks)) {
    const close = block.fence!.closeLine - 1;
    const region = regionAfter(lines, close, prefixOf(lines[close].text));
    if (region) found.set(block.index, { first: region.first + 1, last: region.last + 1 });
  }
  return found;
}
