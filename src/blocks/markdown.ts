/**
 * Splitting a Markdown document into blocks: its runnable fenced code blocks. The document is
 * parsed with @lezer/markdown (the parser of @codemirror/lang-markdown, so page and server read
 * fences alike), which follows CommonMark 0.31 section 4.5 (fenced code blocks): backtick and tilde
 * fences, up to 3 spaces of indentation, a closing fence at least as long as the opening one, a
 * fence that runs to the end of the document (or of its container) when it is never closed, and
 * fences inside block quotes and list items (section 5), whose container markup is not code.
 * No I/O; a console fence's continuation lines are decided by the caller's bash parser.
 */
import type { SyntaxNode } from '@lezer/common';
import { parser as commonmark, type BlockContext, type Line } from '@lezer/markdown';
import { consoleCommands, isTranscript, type IsIncomplete } from './console.js';
import { fenceKind, isTrue, parseFenceInfo } from './fence.js';
import { readFrontMatter } from './front-matter.js';
import { readInputs, type PromptMode } from './params.js';
import { normalizeLineBreaks } from './line-breaks.js';
import { blockTarget, type Block } from './split.js';

/**
 * The fence indentation (CommonMark 4.5: "if the leading code fence is indented N spaces, up to N
 * spaces of indentation are removed from each line of the content") of each fence opening, by its
 * document position. @lezer/markdown removes container markup from content lines but leaves this
 * indentation in them; a block parser placed before its own FencedCode one records it and declines.
 */
let fenceIndents: Map<number, number> | undefined;
const parser = commonmark.configure({
  parseBlock: [
    {
      name: 'FenceIndent',
      before: 'FencedCode',
      parse(cx: BlockContext, line: Line) {
        if (line.next === 0x60 /* ` */ || line.next === 0x7e /* ~ */) fenceIndents?.set(cx.lineStart + line.pos, line.indent - line.baseIndent);
        return false;
      },
    },
  ],
});

/**
 * Splits a Markdown document into its runnable fences (fence.ts says which languages run).
 * Each block's `markerLine` is its opening fence, lineStart..lineEnd its code lines (leading and
 * trailing blank lines left out), `fence` the whole fence. Its `code` has the container markup and
 * fence indentation removed; the output lines of a console fence, or of a shell fence written as a
 * transcript (console.ts: isTranscript, as Runme runbooks), are blank in it, so line numbers stay
 * those of the document. A fence without code to run is no block. Its `title` is its `name`
 * attribute, else the text of the nearest heading above it; its `on` (and `onError`) its `on`
 * attribute (Block.on).
 * @param source the document (any line breaks; line numbers count them as CommonMark does)
 * @param isIncomplete tells whether a console command continues on the next line
 */
export function splitMarkdown(source: string, isIncomplete: IsIncomplete): Block[] {
  let text = normalizeLineBreaks(source);
  // The front matter is no Markdown (its `---` would be a heading's underline): blank, same lines.
  const front = readFrontMatter(text);
  if (front.lines > 0) {
    const lines = text.split('\n');
    text = [...lines.slice(0, front.lines).map(() => ''), ...lines.slice(front.lines)].join('\n');
  }
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  /** 1-based line number of position `pos`. */
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const indents = new Map<number, number>();
  fenceIndents = indents;
  let tree;
  try {
    tree = parser.parse(text);
  } finally {
    fenceIndents = undefined;
  }
  const blocks: Block[] = [];
  let heading: string | undefined;
  tree.iterate({
    enter(ref) {
      if (/^(ATX|Setext)Heading/.test(ref.name)) {
        heading = headingText(ref.node, text) || heading;
        return false;
      }
      if (ref.name !== 'FencedCode') return;
      const block = fenceBlock(ref.node, text, lineOf, indents.get(ref.from) ?? 0, isIncomplete, front.promptEnv);
      if (!block) return false;
      const titled = block.title ?? heading;
      blocks.push({ ...block, index: blocks.length, ...(titled ? { title: titled } : {}), ...(heading ? { heading } : {}) });
      return false;
    },
  });
  return blocks;
}

/** The text of a heading without its `#` marks or setext underline. */
function headingText(node: SyntaxNode, text: string): string {
  const marks = node.getChildren('HeaderMark');
  let from = node.from;
  let to = node.to;
  if (node.name.startsWith('ATX')) {
    if (marks[0]) from = marks[0].to;
    if (marks.length > 1) to = marks[marks.length - 1].from;
  } else if (marks.length > 0) {
    to = marks[marks.length - 1].from;
  }
  return text.slice(from, to).replace(/\s+/g, ' ').trim();
}

/** The block of one FencedCode node, or undefined when it does not run or has no code. */
function fenceBlock(
  node: SyntaxNode,
  text: string,
  lineOf: (pos: number) => number,
  indent: number,
  isIncomplete: IsIncomplete,
  documentMode: PromptMode | undefined,
): Omit<Block, 'index'> | undefined {
  const info = parseFenceInfo(node.getChild('CodeInfo') ? text.slice(node.getChild('CodeInfo')!.from, node.getChild('CodeInfo')!.to) : '');
  const kind = fenceKind(info.language);
  if (kind.kind === 'none') return undefined;
  const marks = node.getChildren('CodeMark');
  const openLine = lineOf(node.from);
  const closed = marks.length > 1;
  const closeLine = closed ? lineOf(marks[marks.length - 1].from) : lineOf(node.to);
  const lastContentLine = closed ? closeLine - 1 : closeLine;
  // Content line n (openLine < n <= lastContentLine) is what CodeText nodes hold of it.
  const content: string[] = [];
  for (let n = openLine + 1; n <= lastContentLine; n++) content.push('');
  for (const piece of node.getChildren('CodeText')) {
    let line = lineOf(piece.from);
    for (const part of text.slice(piece.from, piece.to).split('\n')) {
      if (line > openLine && line <= lastContentLine) content[line - openLine - 1] += part;
      line++;
    }
  }
  const stripped = content.map((line) => {
    let k = 0;
    while (k < indent && line[k] === ' ') k++;
    return line.slice(k);
  });
  // A shell fence written as a transcript (`$ ` prompts, as Runme runbooks) runs as a console one.
  const transcript = kind.kind === 'console' || (kind.kind === 'shell' && isTranscript(stripped));
  const code = transcript ? consoleCommands(stripped, isIncomplete).map((line) => line ?? '') : stripped;
  let first = 0;
  let last = code.length - 1;
  while (first <= last && code[first].trim() === '') first++;
  while (last >= first && code[last].trim() === '') last--;
  if (first > last) return undefined;
  const { attributes } = info;
  return {
    lineStart: openLine + 1 + first,
    lineEnd: openLine + 1 + last,
    markerLine: openLine,
    code: code.slice(first, last + 1).join('\n'),
    ...(attributes.name ? { title: attributes.name, name: attributes.name } : {}),
    ...(isTrue(attributes.excludeFromRunAll) ? { excludeFromRunAll: true } : {}),
    ...(kind.kind === 'interpreter' ? { interpreter: kind.interpreter } : {}),
    ...(attributes.on !== undefined ? blockTarget(attributes.on) : {}),
    ...(documentMode || ['promptEnv', 'secret', 'confirm'].some((k) => k in attributes) ? { inputs: readInputs(attributes, documentMode, kind.kind === 'shell') } : {}),
    fence: { openLine, closeLine, closed, language: info.language, attributes },
  };
}
