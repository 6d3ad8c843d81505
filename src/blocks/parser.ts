/**
 * Loads web-tree-sitter and the tree-sitter-bash grammar, in Node or in the browser, and returns
 * the function that splits a document into blocks: a shell script by its syntax tree (split.ts),
 * a Markdown document by its runnable fences (markdown.ts), picked by the file's name.
 */
import { Language, Parser } from 'web-tree-sitter';
import { loadYaml } from './front-matter.js';
import { splitMarkdown } from './markdown.js';
import { findParameters, type FoundParameter } from './params.js';
import { splitBlocks, type Block } from './split.js';

/** Where the two WebAssembly files are: file paths in Node, URLs in the browser. */
export interface GrammarFiles {
  /** web-tree-sitter's runtime, `web-tree-sitter.wasm`. */
  runtime: string;
  /** The bash grammar, `tree-sitter-bash.wasm`. */
  bash: string;
}

/** Splits a document into blocks; see splitBlocks (shell) and splitMarkdown for the rules. */
export type BlockSplitter = (source: string) => Block[];

/**
 * What kind of document a file is: `markdown` for `.md`, `.markdown` and `.mdx`, and for `.ipynb`
 * (the page edits a notebook as its Markdown view: ipynb-view.ts), else `shell`.
 */
export type DocumentKind = 'markdown' | 'shell';

/** The kind of document `fileName` (a name or a path; the extension is compared without case) is. */
export function documentKind(fileName: string): DocumentKind {
  return /\.(md|markdown|mdx|ipynb)$/i.test(fileName) ? 'markdown' : 'shell';
}

/** The loaded bash grammar, from which splitters for each kind of document are made. */
export interface Splitters {
  /** The splitter of `fileName`'s kind (documentKind). */
  forFile(fileName: string): BlockSplitter;
  /** bash would ask for more lines after `code` (an open quote or heredoc, a trailing `\`...). */
  isIncomplete(code: string): boolean;
  /** The offsets of `code`'s `return` commands outside any function (see topLevelReturns). */
  topLevelReturns(code: string): number[];
  /** The parameters of a shell block's `code` (params.ts, findParameters); `secret` names it declares secret. */
  parameters(code: string, secret?: readonly string[]): FoundParameter[];
}

/** A syntax tree node, as web-tree-sitter gives it. */
type SyntaxNode = NonNullable<ReturnType<Parser['parse']>>['rootNode'];

/**
 * The start offsets (UTF-16 code units) of the `return` commands of `root` that are not inside a
 * function definition: in `bash script.sh` those fail with "return: can only `return' from a
 * function or sourced script" (bash(1): SHELL BUILTIN COMMANDS, return) and the script goes on,
 * where a sourced block would end.
 */
function topLevelReturnsOf(root: SyntaxNode, code: string): number[] {
  const found: number[] = [];
  const walk = (node: SyntaxNode) => {
    if (node.type === 'function_definition') return;
    if (node.type === 'command_name' && node.text === 'return' && code.startsWith('return', node.startIndex)) found.push(node.startIndex);
    for (const child of node.children) if (child) walk(child);
  };
  walk(root);
  return found;
}

/**
 * Loads the grammar once (a 9,000-line script parses in ~80 ms), and the YAML parser a Markdown
 * document's front matter needs unless `frontMatter` is false (a shell script's caller: ~35 ms).
 * @throws Error when a wasm file cannot be loaded.
 */
export async function loadSplitters(files: GrammarFiles, { frontMatter = true } = {}): Promise<Splitters> {
  if (frontMatter) await loadYaml();
  await Parser.init({ locateFile: () => files.runtime });
  const parser = new Parser();
  parser.setLanguage(await Language.load(files.bash));
  const parse = <T>(source: string, read: (root: SyntaxNode) => T): T => {
    const tree = parser.parse(source);
    if (!tree) throw new Error('tree-sitter could not parse the script');
    try {
      return read(tree.rootNode);
    } finally {
      tree.delete();
    }
  };
  // bash asks for more (PS2) where tree-sitter finds the text unfinished: an ERROR or MISSING node.
  const isIncomplete = (code: string) => parse(code, (root) => root.hasError);
  const shell: BlockSplitter = (source) => parse(source, (root) => splitBlocks(source, root.children.filter((n) => n !== null)));
  const markdown: BlockSplitter = (source) => splitMarkdown(source, isIncomplete);
  // Most blocks have no `return` at all: they are not parsed.
  const topLevelReturns = (code: string) => (code.includes('return') ? parse(code, (root) => topLevelReturnsOf(root, code)) : []);
  // Most blocks have no `export` at all: they are not parsed.
  const parameters = (code: string, secret: readonly string[] = []) => (code.includes('export') ? parse(code, (root) => findParameters(root, code, secret)) : []);
  return { forFile: (fileName) => (documentKind(fileName) === 'markdown' ? markdown : shell), isIncomplete, topLevelReturns, parameters };
}

/**
 * Loads the grammar and returns the splitter of `fileName`'s kind (a shell script's by default).
 * @throws Error when a wasm file cannot be loaded.
 */
export async function loadBlockSplitter(files: GrammarFiles, fileName = 'script.sh'): Promise<BlockSplitter> {
  return (await loadSplitters(files)).forFile(fileName);
}
