// A notebook's Markdown view (the page's text for an .ipynb) and back: an unchanged view gives the
// notebook back as it was, with or without cell ids (nbformat 4.5 and 4.4), and every result
// passes nbformat's validator.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { notebookFromView, notebookView, viewIds } from '../../src/blocks/ipynb-view.js';
import { notebookText, type Notebook } from '../../src/blocks/ipynb.js';
import { validateNotebook } from '../helpers/nbformat.js';
import { BASH_NOTEBOOK, jupyterJson } from '../helpers/notebooks.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-ipynb-view-');
/** Writes `nb` as cmdrun does and runs the validator on it. */
function valid(nb: Notebook, name: string): void {
  writeFileSync(join(dir, name), notebookText(nb));
  validateNotebook(join(dir, name));
}

describe('notebookView and notebookFromView', () => {
  test('an unchanged view gives the notebook back byte for byte', () => {
    const nb = BASH_NOTEBOOK as unknown as Notebook;
    expect(notebookText(notebookFromView(notebookView(nb), nb))).toBe(jupyterJson(BASH_NOTEBOOK));
  });

  test('an nbformat 4.4 notebook (no cell ids) keeps having none, new cells included', () => {
    const old = structuredClone(BASH_NOTEBOOK) as unknown as Notebook;
    old.nbformat_minor = 4;
    for (const cell of old.cells) delete cell.id;
    const view = notebookView(old);
    expect(view).toContain('```bash {id=cell-2}\n# Set up\n');
    const back = notebookFromView(`${view}\n\`\`\`bash\necho new\n\`\`\`\n`, old);
    expect(back.cells.slice(0, -1)).toEqual(old.cells);
    expect(back.cells.at(-1)).toEqual({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ['echo new'] });
    valid(back, 'v44.ipynb');
  });

  test('removed, reordered and edited cells; a fence holding backticks; outputs of a run', () => {
    const nb = structuredClone(BASH_NOTEBOOK) as unknown as Notebook;
    nb.cells[2].source = ['printf "```\\n"'];
    const view = notebookView(nb);
    expect(view).toContain('````bash {id=a1b2c3d4-0003}\nprintf "```\\n"\n````\n');
    // Drop the raw cell, move cell 5 before cell 3, edit cell 3.
    const parts = view.split(/\n(?=<!--|`{3,}bash)/);
    expect(parts).toHaveLength(6);
    const edited = [parts[0], parts[1], parts[4], parts[2].replace('printf', 'printf --'), parts[5]].join('\n');
    const back = notebookFromView(edited, nb, (code) => (code.startsWith('# Check') ? { run: { output: 'ok\r\n', exitCode: 0 }, count: 9 } : undefined));
    expect(back.cells.map((c) => c.id)).toEqual(['a1b2c3d4-0001', 'a1b2c3d4-0002', 'a1b2c3d4-0005', 'a1b2c3d4-0003', 'a1b2c3d4-0006']);
    expect(back.cells[2]).toMatchObject({ execution_count: 9, outputs: [{ name: 'stdout', output_type: 'stream', text: ['ok\n'] }] });
    expect(back.cells[3].source).toEqual(['printf -- "```\\n"']);
    expect(back.cells[1]).toEqual(nb.cells[1]);
    valid(back, 'edited.ipynb');
  });

  test('a cell added on the page keeps the id its first save gave it, edited or not; a removed cell never comes back', () => {
    const nb = BASH_NOTEBOOK as unknown as Notebook;
    const view = notebookView(nb);
    const added = `${view}\n\`\`\`bash\necho added\n\`\`\`\n`;
    const first = notebookFromView(added, nb, undefined, viewIds(nb));
    const newId = first.cells.at(-1)!.id;
    expect(newId).toMatch(/^[0-9a-f]{8}$/);
    // The page still shows the new cell without its id; an edit of it keeps the id.
    expect(notebookFromView(added.replace('echo added', 'echo edited'), first, undefined, viewIds(nb)).cells.at(-1)).toMatchObject({ id: newId, source: ['echo edited'] });
    // Cell 5 removed on the page and a new fence added: the new cell is new, not cell 5.
    const removed = added.replace(/```bash \{id=a1b2c3d4-0005\}\n[^`]*```\n/, '').replace('echo added', 'echo other');
    const second = notebookFromView(removed, first, undefined, viewIds(nb));
    expect(second.cells.map((c) => c.id)).not.toContain('a1b2c3d4-0005');
    expect(second.cells.at(-1)).toMatchObject({ id: newId, source: ['echo other'], outputs: [] });
  });

  test("a markdown cell's own bash fence stays in it; a bash fence added in the prose is a new cell", () => {
    const nb = structuredClone(BASH_NOTEBOOK) as unknown as Notebook;
    nb.cells[0].source = ['# Deploy\n', '\n', 'Run:\n', '\n', '```bash\n', 'make deploy\n', '```\n', '\n', 'then check.'];
    const view = notebookView(nb);
    expect(notebookText(notebookFromView(view, nb, undefined, viewIds(nb)))).toBe(notebookText(nb));
    const added = view.replace('then check.', 'then check.\n\n```bash\necho new\n```');
    const back = notebookFromView(added, nb, undefined, viewIds(nb));
    expect(back.cells.map((c) => c.cell_type).slice(0, 3)).toEqual(['markdown', 'code', 'code']);
    expect(back.cells[0].source).toEqual(nb.cells[0].source);
    expect(back.cells[1]).toMatchObject({ source: ['echo new'], outputs: [] });
  });
});
