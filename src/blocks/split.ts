/**
 * Splitting a shell script into blocks, from its tree-sitter-bash syntax tree.
 *
 * Rules (the percent format of Jupytext and VS Code, then paragraphs):
 * - When the script has top-level `# %%` comments (cell markers, optionally followed by a title),
 *   each marker starts a block that runs up to the next marker; text before the first marker is a
 *   block when it holds a command.
 * - Otherwise each paragraph of top-level commands (not separated by a blank line) is a block.
 *   A compound command (function, loop, `if`, `case`, heredoc, `\` continuation) is one syntax node,
 *   so a blank line inside it never splits it. Paragraphs of comments only are not blocks.
 * The module has no I/O: parser.ts loads the grammar, in Node and in the browser alike.
 */
import type { Interpreter } from './fence.js';

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
   * The text after `# %%` on the marker line, when there is one; for a Markdown block its `name`
   * attribute, else the nearest heading above it.
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
  /** Markdown: `excludeFromRunAll=true`: Run all/above/below/from here and `cmdrun run` skip it. */
  excludeFromRunAll?: boolean;
  /** The program that runs the code in the session instead of the shell (interpreter fences). */
  interpreter?: Interpreter;
  /** Markdown: the fence the block is. */
  fence?: Fence;
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

/** Returns the title of a cell marker comment (`''` when untitled), or undefined when it is none. */
export function markerTitle(commentText: string): string | undefined {
  const match = MARKER.exec(commentText);
  return match ? (match[1] ?? '') : undefined;
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
    const title = markerTitle(node.text);
    return title === undefined ? [] : [{ row: node.startPosition.row, title }];
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
      blocks.push({ ...range, markerLine: marker.row + 1, ...(marker.title ? { title: marker.title } : {}) });
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
