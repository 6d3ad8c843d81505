/**
 * Runbook parameters: the `export NAME=VALUE` lines of a shell block that ask for a value before
 * the block runs, by Runme's rules (Runme docs, "Prompts": `export` statements and `promptEnv`),
 * found in the block's tree-sitter-bash syntax tree, and the block attributes that steer them
 * (`promptEnv`, `secret`, `confirm`). No I/O: the server, `cmdrun run` and the page share it.
 */
import type { Block } from './split.js';

/**
 * When a block asks for its parameters (Runme's `promptEnv`):
 * - `auto`: only for a variable that has no value in the session when the block is about to run;
 * - `always`: every time, with the current value filled in;
 * - `never`: the line runs as written (an unquoted message becomes the value, as in Runme).
 */
export type PromptMode = 'auto' | 'always' | 'never';

/**
 * Reads a `promptEnv` value in every spelling Runme has used: `auto` (also `""`), `always`, `yes`,
 * `true`, `1`; `never`, `no`, `false`, `0`. Any case. Undefined for anything else.
 */
export function parsePromptMode(value: string | boolean | undefined | null): PromptMode | undefined {
  if (typeof value === 'boolean') return value ? 'always' : 'never';
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'auto' || v === '') return 'auto';
  if (['always', 'yes', 'true', '1'].includes(v)) return 'always';
  if (['never', 'no', 'false', '0'].includes(v)) return 'never';
  return undefined;
}

/** One parameter of a block. */
export interface Parameter {
  /** The variable's name. */
  name: string;
  /** The prompt's text: an unquoted value (`export CLUSTER=Enter the cluster name`), as written. */
  message?: string;
  /** The value to confirm: a quoted value (`export REGION="eu-west-1"`, `'eu-west-1'`), unquoted. */
  default?: string;
  /** True when its value must never be shown (isSecretName, or the block's `secret="NAME"`). */
  secret: boolean;
}

/** A parameter and where its statement is in the block's code. */
export interface FoundParameter extends Parameter {
  /** Offsets (UTF-16 code units) of the `export` statement in the code: [start, end). */
  start: number;
  end: number;
}

/** The part of a tree-sitter node this module reads (web-tree-sitter's `Node` fits it). */
export interface ParamNode {
  type: string;
  text: string;
  startIndex: number;
  endIndex: number;
  isNamed: boolean;
  children: ReadonlyArray<ParamNode | null>;
}

/**
 * True when a variable's name looks like a secret's: it contains `PASSWORD`, `PASSWD`, `SECRET`,
 * `TOKEN`, `APIKEY`, `API_KEY` or `PRIVATE_KEY`, or ends in `_KEY` (any case).
 */
export function isSecretName(name: string): boolean {
  return /PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|API_KEY|PRIVATE_KEY|_KEY$/i.test(name);
}

/** A POSIX variable name (bash(1), DEFINITIONS: name). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Node types that expand (bash(1), EXPANSION): a value holding one is no parameter. */
const EXPANSIONS = new Set(['simple_expansion', 'expansion', 'command_substitution', 'process_substitution', 'arithmetic_expansion', 'ansi_c_string', 'translated_string']);

const hasExpansion = (node: ParamNode): boolean => EXPANSIONS.has(node.type) || node.children.some((c) => c !== null && hasExpansion(c));

/** The value of a double-quoted string without expansions: `\"`, `\\`, `` \` ``, `\$` unescaped (bash(1), QUOTING). */
const doubleQuoted = (node: ParamNode): string => node.text.slice(1, -1).replace(/\\([\\"`$])/g, '$1').replace(/\\\n/g, '');

/** The value of quoted text (a string, a raw string or a concatenation of them), or undefined. */
function quotedValue(node: ParamNode): string | undefined {
  if (node.type === 'string') return doubleQuoted(node);
  if (node.type === 'raw_string') return node.text.slice(1, -1);
  if (node.type === 'concatenation') {
    const parts = node.children.filter((c): c is ParamNode => c !== null).map(quotedValue);
    return parts.every((p) => p !== undefined) ? parts.join('') : undefined;
  }
  return undefined;
}

/** True when unquoted `text` would be a glob (`*`, `?`, `[...]`), a brace expansion or a tilde. */
const expandsUnquoted = (text: string): boolean => /[*?]|\[[^\]]*\]|\{[^}]*(,|\.\.)[^}]*\}|^~/.test(text);

/**
 * The parameters of a block: its top-level `export` statements (direct children of the syntax
 * tree's root: not inside functions, loops, `if`, subshells or lists) of one variable whose value has
 * no expansion. Runme's rules:
 * - `export NAME="value"` or `'value'` (quoted, one word): `value` is a default to confirm;
 * - `export NAME=Enter the cluster name` (unquoted words): the words are the message, no default;
 * - `export NAME` and `export NAME=`: no message, no default.
 * A statement with a second assignment, or a quoted value followed by more words, is no parameter.
 * @param root the block's syntax tree (program node) parsed from `code`
 * @param secretNames names the block declares secret (`secret="A,B"`), besides isSecretName's
 */
export function findParameters(root: ParamNode, code: string, secretNames: readonly string[] = []): FoundParameter[] {
  const found: FoundParameter[] = [];
  const secret = (name: string) => isSecretName(name) || secretNames.includes(name);
  for (const node of root.children) {
    if (!node || node.type !== 'declaration_command' || node.children[0]?.type !== 'export') continue;
    const args = node.children.slice(1).filter((c): c is ParamNode => c !== null && c.type !== 'comment');
    if (args.length === 0) continue;
    const [first, ...rest] = args;
    const at = { start: node.startIndex, end: node.endIndex };
    if (first.type === 'variable_name') {
      if (rest.length === 0) found.push({ name: first.text, secret: secret(first.text), ...at });
      continue;
    }
    if (first.type !== 'variable_assignment') continue;
    const parts = first.children.filter((c): c is ParamNode => c !== null);
    const name = parts[0]?.type === 'variable_name' ? parts[0].text : undefined;
    if (!name || !VARIABLE_NAME.test(name) || parts[1]?.type !== '=') continue;
    const value = parts[2];
    if (!value) {
      if (rest.length === 0) found.push({ name, secret: secret(name), ...at });
      continue;
    }
    if (hasExpansion(value) || rest.some(hasExpansion) || rest.some((r) => r.type === 'variable_assignment')) continue;
    const quoted = quotedValue(value);
    if (quoted !== undefined) {
      if (rest.length === 0) found.push({ name, default: quoted, secret: secret(name), ...at });
      continue;
    }
    // `[Enter your project id]` is no glob: its brackets are in different words.
    if (expandsUnquoted(value.text)) continue;
    const message = code.slice(value.startIndex, node.endIndex).trim();
    found.push({ name, message, secret: secret(name), ...at });
  }
  return found;
}

/** What a block says about its inputs: when to ask, which names are secret, what to confirm. */
export interface BlockInputs {
  /** Undefined for blocks that have no parameters by nature (console transcripts, interpreter fences). */
  promptEnv?: PromptMode;
  /** The block's `secret="A,B"` names. */
  secret?: string[];
  /** The question of `confirm=true` (a default one) or `confirm="Restart production?"`. */
  confirm?: string;
}

/** The question a block with `confirm=true` asks. */
export const DEFAULT_CONFIRM = 'Run this block?';

/**
 * Reads a block's input attributes (a `# %%` marker's metadata or a fence's attributes).
 * @param attributes the block's attributes as written
 * @param documentMode the document's `promptEnv` (front matter), default `auto`
 * @param shell false for blocks that are no shell code (console, interpreter): they get no promptEnv
 */
export function readInputs(attributes: Record<string, string>, documentMode: PromptMode = 'auto', shell = true): BlockInputs {
  const inputs: BlockInputs = {};
  if (shell) inputs.promptEnv = parsePromptMode(attributes.promptEnv) ?? documentMode;
  const secret = (attributes.secret ?? '').split(/[\s,]+/).filter((n) => VARIABLE_NAME.test(n));
  if (secret.length) inputs.secret = secret;
  const confirm = attributes.confirm;
  if (confirm !== undefined && !['false', 'no', '0', ''].includes(confirm.toLowerCase())) {
    inputs.confirm = ['true', 'yes', '1'].includes(confirm.toLowerCase()) ? DEFAULT_CONFIRM : confirm;
  }
  return inputs;
}

/** The inputs of a split block (Block.inputs), or the defaults of a plain shell block. */
export function blockInputs(block: Pick<Block, 'inputs' | 'interpreter' | 'fence'>): BlockInputs {
  return block.inputs ?? (block.interpreter || block.fence?.language.toLowerCase().match(/^(console|shell-session)$/) ? {} : { promptEnv: 'auto' });
}

/** The input fields of a block's run request (POST /api/runs: `promptEnv`, `secret`, `confirm`). */
export function inputFields(block: Pick<Block, 'inputs' | 'interpreter' | 'fence'>): { promptEnv?: PromptMode; secret?: string[]; confirm?: string } {
  const { promptEnv, secret, confirm } = blockInputs(block);
  return { ...(promptEnv && !block.interpreter ? { promptEnv } : {}), ...(secret ? { secret } : {}), ...(confirm !== undefined ? { confirm } : {}) };
}

/**
 * The code that runs once the parameters have their values in the session: each parameter's
 * statement `replace`d (default: `export NAME`, which keeps the session's value and exports it),
 * padded with line breaks so that the lines after it keep their numbers.
 */
export function withParameters(code: string, params: readonly FoundParameter[], replace: (p: FoundParameter) => string = (p) => `export ${p.name}`): string {
  let out = code;
  for (const p of [...params].sort((a, b) => b.start - a.start)) {
    const lines = code.slice(p.start, p.end).split('\n').length - 1;
    out = out.slice(0, p.start) + replace(p) + '\n'.repeat(lines) + out.slice(p.end);
  }
  return out;
}

/** `value` as one single-quoted shell word (POSIX: `'` written as `'\''`). */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
