/**
 * `cmdrun run`'s view of the blocks' inputs: what `--list` and `--list --json` show of them, and
 * the check, with no terminal to ask, that every parameter has a value before any block runs.
 */
import { blockInputs, type Parameter } from '../blocks/params.js';
import type { Splitters } from '../blocks/parser.js';
import { blockLines, type Block } from '../blocks/split.js';
import { blockLabel } from '../runs/format.js';

/** The parameters a block asks for (none in `never` mode, for interpreter and console blocks). */
export function blockParameters(block: Block, splitters: Pick<Splitters, 'parameters'>): Parameter[] {
  const inputs = blockInputs(block);
  if (!inputs.promptEnv || block.interpreter) return [];
  return splitters.parameters(block.code, inputs.secret).map(({ start: _s, end: _e, ...p }) => p);
}

/** `--list`'s notes on a block's inputs: `asks CLUSTER, TOKEN (secret)`, `confirm: "…"`. */
export function inputNotes(block: Block, splitters: Pick<Splitters, 'parameters'>): string[] {
  const params = blockInputs(block).promptEnv === 'never' ? [] : blockParameters(block, splitters);
  const notes: string[] = [];
  if (params.length) notes.push(`asks ${params.map((p) => `${p.name}${p.secret ? ' (secret)' : ''}`).join(', ')}`);
  const { confirm } = blockInputs(block);
  if (confirm !== undefined) notes.push(`confirm: ${JSON.stringify(confirm)}`);
  return notes;
}

/** `--list --json`: one object per block, for editors and scripts that build their own forms. */
export function listJson(blocks: readonly Block[], splitters: Pick<Splitters, 'parameters'>): string {
  const list = blocks.map((block, i) => {
    const { first, last } = blockLines(block);
    const inputs = blockInputs(block);
    return {
      number: i + 1,
      title: blockLabel(block),
      lines: [first, last],
      language: block.fence?.language ?? 'sh',
      ...(block.interpreter ? { interpreter: block.interpreter } : {}),
      target: block.on ?? null,
      excluded: block.excludeFromRunAll === true,
      promptEnv: inputs.promptEnv ?? null,
      parameters: blockParameters(block, splitters),
      confirm: inputs.confirm ?? null,
    };
  });
  return `${JSON.stringify(list, null, 2)}\n`;
}

/**
 * With no terminal to ask: the parameters of `blocks` that would have no value, one line each
 * (`block 2 (deploy.sh:5) needs CLUSTER (Enter the cluster name): give it with --env CLUSTER=...`).
 * A name has a value when `known` has it (the environment, `--env`, an env file), or an earlier
 * block's parameter has a default; `never` blocks run as written. A secret counts as missing too.
 */
export function missingValues(blocks: readonly Block[], splitters: Pick<Splitters, 'parameters'>, known: ReadonlySet<string>, place: (block: Block) => string): string[] {
  const have = new Set(known);
  const lines: string[] = [];
  blocks.forEach((block) => {
    if (blockInputs(block).promptEnv === 'never') return;
    for (const p of blockParameters(block, splitters)) {
      if (have.has(p.name) || p.default !== undefined) {
        have.add(p.name);
        continue;
      }
      lines.push(`block ${block.index + 1} (${place(block)}) needs ${p.name}${p.message ? ` (${p.message})` : ''}: give it with --env ${p.name}=...`);
      have.add(p.name);
    }
  });
  return lines;
}
