/**
 * Splitting a shell script into blocks, from its tree-sitter-bash syntax tree.
 *
 * Rules (the percent format of Jupytext and VS Code, then paragraphs):
 * - When the script has top-level `# %%` comments (cell markers, optionally followed by a title
 *   and metadata: parseMarker), each marker starts a block that runs up to the next marker; text
 *   before the first marker is a block when it holds a command.
 * - Otherwise each paragraph of top-level commands (not separated by a blank line) is a block.
 *   A compound command (function, loop, `if`, `case`, heredoc, `\` continuation) is one syntax node,
 *   so a blank line inside it never splits it. Paragraphs of comments only are not blocks.
 * The module has no I/O: parser.ts loads the grammar, in Node and in the browser alike.
 */
import { TargetError } from '../session/target.js';
import { checkTargetOrFleet } from '../session/fleet-spec.js';
import type { Interpreter } from './fence.js';
import { readInputs, type BlockInputs } from './params.js';

/** The Markdown fence a block comes from (markdown.ts). Lines are 1-based. */
export interface Fence {
  /** The line of the opening fence (where the page puts ▶). */
  openLine: number;
  /** The line of the closing fence, or the fence's last line when it is never closed. */
  closeLine: number;
  /** False when the fence runs to the end of the document or of its container. */
  closed: boolean;
  /** The first word of the info string, as written (`Python`, `sh`, `console`). */
  language: string;
  /** The info string's attributes (fence.ts), unknown ones included: `{ name: 'setup' }`. */
  attributes: Record<string, string>;
}

/**
 * One block of a document: a shell script's block (this module) or a Markdown document's runnable
 * fence (markdown.ts). Lines are 1-based and inclusive.
 */
export interface Block {
  /** 0-based position among the script's blocks. */
  index: number;
  /** First line of the block's code (after its `# %%` marker, if any). */
  lineStart: number;
  /** Last line of the block's code; trailing blank lines are not part of it. */
  lineEnd: number;
  /** The line of the block's `# %%` marker, or of a Markdown block's opening fence. */
  markerLine?: number;
  /**
   * The text after `# %%` on the marker line without its metadata (parseMarker), when there is
   * one; for a Markdown block its `name` attribute, else the nearest heading above it.
   */
  title?: string;
  /**
   * The code that runs: the lines lineStart..lineEnd joined with `\n` (for a Markdown block,
   * without container markup and fence indentation, and a console fence's output lines blank).
   */
  code: string;
  /** Markdown: the `name` attribute of the fence (`cmdrun run --block` matches it). */
  name?: string;
  /** Markdown: the text of the nearest heading above the fence (`cmdrun run --block` matches it). */
  heading?: string;
  /** A notebook cell's `tags` metadata (ipynb.ts): `cmdrun run --block` matches them too. */
  tags?: string[];
  /** Markdown: `excludeFromRunAll=true`: Run all/above/below/from here and `cmdrun run` skip it. */
  excludeFromRunAll?: boolean;
  /** The program that runs the code in the session instead of the shell (interpreter fences). */
  interpreter?: Interpreter;
  /** Markdown: the fence the block is. */
  fence?: Fence;
  /**
   * Where the block runs, the target text unparsed: the `on="…"` metadata of its `# %%` marker (parseMarker) or
   * the `on` attribute of its fence (`{ on="ssh://db1" }`, `{"on":"ssh://db1"}`): `local` or
   * `ssh://[user@]host[:port]` (session/target.ts), or a fleet (fleet-spec.ts: `ssh://a,ssh://b`,
   * `@web`). Absent: where the session runs.
   */
  on?: string;
  /**
   * With `on`, when parseTarget refuses it: the TargetError's message (`invalid target "…": …`).
   * The document still splits; running the block should fail with this message, never run it
   * elsewhere.
   */
  onError?: string;
  /**
   * Its inputs (params.ts): `promptEnv`, `secret` and `confirm` from its `# %%` metadata or fence
   * attributes, and the document's `promptEnv` (front matter). Absent: a shell block's defaults.
   */
  inputs?: BlockInputs;
}

/** The `on` and `onError` fields of a block whose target is written `on` (Block.on, Block.onError). */
export function blockTarget(on: string): Pick<Block, 'on' | 'onError'> {
  try {
    checkTargetOrFleet(on); // a fleet's @GROUPs are resolved when it runs
    return { on };
  } catch (error) {
    if (error instanceof TargetError) return { on, onError: error.message };
    throw error;
  }
}

/** The first and last line a block occupies in its document: marker or opening fence to closing fence. */
export function blockLines(block: Block): { first: number; last: number } {
  return { first: block.markerLine ?? block.lineStart, last: block.fence?.closeLine ?? block.lineEnd };
}

/** The part of a tree-sitter node that splitting reads (web-tree-sitter's `Node` fits it). */
export interface SyntaxNodeLike {
  type: string;
  text: string;
  startPosition: { row: number; column: number };
  endPosition: { row: number; column: number };
}

/** `# %%` alone or followed by white space and an optional title (Jupytext percent format). */
const MARKER = /^#\s?%%(?:\s+(.*?))?\s*$/;

/** What a `# %%` marker line says. */
export interface MarkerInfo {
  /** The title: the text after `# %%` without the metadata (`''` when there is none). */
  title: string;
  /** The `on` metadata's value (without its quotes; a double-quoted one JSON-decoded), not parsed. */
  on?: string;
  /** The input metadata (params.ts), by key, when there are any: `promptEnv`, `secret`, `confirm`. */
  inputs?: Record<string, string>;
}

/** The metadata keys of a `# %%` marker that cmdrun reads (the others are ignored). */
const METADATA_KEYS = new Set(['on', 'promptEnv', 'secret', 'confirm']);

/**
 * Reads a cell marker comment: `# %% Check replication on="ssh://db1"`. As in Jupytext's percent
 * format (`# %% Optional title [cell type] key="value"`), metadata are key=value pairs after the
 * title, and the title is the text before the first of them. Only what cmdrun reads is taken for
 * metadata, so that titles which happen to hold an `=` stay as they are:
 * - the metadata are the longest tail of the text made only of pairs separated by white space,
 *   and they count only when one of them is a key cmdrun reads (`on`, `promptEnv`, `secret`,
 *   `confirm`; else the whole text is the title);
 * - a pair is `key="value"` (a JSON string: `\"` and `\\` escapes) or `key='value'` (as
 *   written), the key letters, digits, `_`, `.` and `-`, not starting with a digit, `.` or `-`;
 *   the keys cmdrun reads may also be unquoted (`on=ssh://db1`: up to white space);
 * - other keys are ignored; when a key is given twice, the last one counts.
 * So `# %% Set x=1` and `# %% Set GREETING="hi"` keep their whole text as the title, `# %% Check
 * tags=["a"] on="ssh://db1"` has the title `Check tags=["a"]`, and `# %% on="local"` the title `''`.
 * @returns undefined when the comment is no cell marker
 */
export function parseMarker(commentText: string): MarkerInfo | undefined {
  const match = MARKER.exec(commentText);
  if (!match) return undefined;
  const text = match[1] ?? '';
  for (let start = 0; start < text.length; start++) {
    if (/\s/.test(text[start]) || (start > 0 && !/\s/.test(text[start - 1]))) continue;
    const pairs = metadataPairs(text, start);
    if (!pairs) continue;
    const known = pairs.filter(([key]) => METADATA_KEYS.has(key));
    if (known.length === 0) return { title: text };
    const { on, ...inputs } = Object.fromEntries(known);
    return { title: text.slice(0, start).trimEnd(), ...(on !== undefined ? { on } : {}), ...(Object.keys(inputs).length ? { inputs } : {}) };
  }
  return { title: text };
}

/** Returns the title of a cell marker comment (`''` when untitled), or undefined when it is none. */
export function markerTitle(commentText: string): string | undefined {
  return parseMarker(commentText)?.title;
}

const METADATA_KEY = /[A-Za-z_][\w.-]*=/y;

/** The key=value pairs (parseMarker) that `text` is made of from `start` to its end, or undefined. */
function metadataPairs(text: string, start: number): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  let i = start;
  while (i < text.length) {
    METADATA_KEY.lastIndex = i;
    const key = METADATA_KEY.exec(text)?.[0].slice(0, -1);
    if (key === undefined) return undefined;
    i += key.length + 1;
    let value: string;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      let end = i + 1;
      while (end < text.length && text[end] !== quote) end += quote === '"' && text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return undefined;
      if (quote === "'") value = text.slice(i + 1, end);
      else {
        try {
          value = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return undefined;
        }
      }
      i = end + 1;
    } else if (METADATA_KEYS.has(key)) {
      let end = i;
      while (end < text.length && !/[\s"']/.test(text[end])) end++;
      value = text.slice(i, end);
      i = end;
    } else {
      return undefined;
    }
    if (i < text.length && !/\s/.test(text[i])) return undefined;
    while (i < text.length && /\s/.test(text[i])) i++;
    pairs.push([key, value]);
  }
  return pairs;
}

/** 0-based first and last row a node occupies (a node ending at column 0 ends on the row before). */
function rows(node: SyntaxNodeLike): [number, number] {
  const { row, column } = node.endPosition;
  const last = column === 0 && row > node.startPosition.row ? row - 1 : row;
  return [node.startPosition.row, last];
}

/**
 * Splits a script into blocks.
 * @param source the script's text
 * @param topLevel the children of the syntax tree's root (`program`) node, in order
 */
export function splitBlocks(source: string, topLevel: readonly SyntaxNodeLike[]): Block[] {
  const lines = source.split('\n');
  const markers = topLevel.flatMap((node) => {
    if (node.type !== 'comment') return [];
    const marker = parseMarker(node.text);
    return marker === undefined ? [] : [{ row: node.startPosition.row, ...marker }];
  });
  const blocks: Array<Omit<Block, 'index' | 'code'>> = [];
  if (markers.length > 0) {
    const firstMarkerRow = markers[0].row;
    const preamble = topLevel.filter((n) => n.type !== 'comment' && n.startPosition.row < firstMarkerRow);
    if (preamble.length > 0) {
      const range = trimBlank(lines, 0, firstMarkerRow - 1);
      if (range) blocks.push(range);
    }
    markers.forEach((marker, i) => {
      const lastRow = i + 1 < markers.length ? markers[i + 1].row - 1 : lines.length - 1;
      const range = trimBlank(lines, marker.row + 1, lastRow);
      if (!range) return;
      blocks.push({
        ...range,
        markerLine: marker.row + 1,
        ...(marker.title ? { title: marker.title } : {}),
        ...(marker.on !== undefined ? blockTarget(marker.on) : {}),
        ...(marker.inputs ? { inputs: readInputs(marker.inputs) } : {}),
      });
    });
  } else {
    let group: { first: number; last: number; commands: number } | undefined;
    const close = () => {
      if (group && group.commands > 0) blocks.push({ lineStart: group.first + 1, lineEnd: group.last + 1 });
    };
    for (const node of topLevel) {
      const [first, last] = rows(node);
      const isCommand = node.type !== 'comment';
      if (group && first <= group.last + 1) {
        group.last = Math.max(group.last, last);
        if (isCommand) group.commands++;
      } else {
        close();
        group = { first, last, commands: isCommand ? 1 : 0 };
      }
    }
    close();
  }
  return blocks.map((block, index) => ({
    index,
    ...block,
    code: lines.slice(block.lineStart - 1, block.lineEnd).join('\n'),
  }));
}

/** The 1-based range of rows first..last (0-based) without leading and trailing blank lines. */
function trimBlank(lines: string[], first: number, last: number): { lineStart: number; lineEnd: number } | undefined {
  while (first <= last && lines[first].trim() === '') first++;
  while (last >= first && lines[last].trim() === '') last--;
  return first <= last ? { lineStart: first + 1, lineEnd: last + 1 } : undefined;
}
