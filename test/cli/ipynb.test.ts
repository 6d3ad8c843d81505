// Jupyter notebooks in and out of `cmdrun run`: a bash_kernel notebook written here as JupyterLab
// saves one, run by the real CLI in one bash; every .ipynb cmdrun writes checked by nbformat's own
// validator (python3-nbformat).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { validateNotebook } from '../helpers/nbformat.js';
import { BASH_NOTEBOOK, executedBashNotebook, jupyterJson } from '../helpers/notebooks.js';
import { tempDir } from '../helpers/tmp.js';

const cmdrun = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A folder holding `name` with `text`; returns the folder. */
function folder(name: string, text: string): string {
  const dir = tempDir('cmdrun-ipynb-');
  writeFileSync(join(dir, name), text);
  return dir;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('cmdrun run notebook.ipynb', () => {
  test("runs a bash notebook's code cells in order in one shell, and --report out.ipynb is the executed copy with everything else kept", () => {
    const dir = folder('deploy.ipynb', jupyterJson(BASH_NOTEBOOK));
    const r = cmdrun(['run', '--keep-going', '--report', 'out.ipynb', 'deploy.ipynb'], dir);
    expect(r.stdout).toBe('hello from work\n\x1b[32mgreen\x1b[0m\nwork exists\n');
    expect(r.stderr).toBe(['── [1/3] Set up (deploy.ipynb cell 2)', '── [2/3] echo "$GREETING from $(basename "$PWD")" (deploy.ipynb cell 3)', '── [3/3] Check (deploy.ipynb cell 5)', ''].join('\n'));
    expect(r.status).toBe(4);
    expect(validateNotebook(join(dir, 'out.ipynb'))).toBe('4 5');
    const out = readJson(join(dir, 'out.ipynb'));
    // Only the run cells' outputs and counts changed.
    const expected = executedBashNotebook();
    expect(out).toEqual(expected);
    // The notebook itself is untouched.
    expect(readFileSync(join(dir, 'deploy.ipynb'), 'utf8')).toBe(jupyterJson(BASH_NOTEBOOK));
  });

  test('--report out.md of a notebook: markdown cells as prose, blocks named by their cell', () => {
    const dir = folder('deploy.ipynb', jupyterJson(BASH_NOTEBOOK));
    expect(cmdrun(['run', '--quiet', '--to', '2', '--report', 'out.md', 'deploy.ipynb'], dir).status).toBe(0);
    const md = readFileSync(join(dir, 'out.md'), 'utf8');
    expect(md).toContain('# Deploy\n\nSet things up: ![diagram](attachment:diagram.png)\n');
    expect(md).toContain('## Set up (deploy.ipynb cell 2)\n');
    expect(md).toContain('```text\nhello from work\ngreen\n```');
  });

  test('--list, --block by a tag or first comment, --from/--to count code cells', () => {
    const dir = folder('deploy.ipynb', jupyterJson(BASH_NOTEBOOK));
    expect(cmdrun(['run', '--list', 'deploy.ipynb'], dir).stdout).toBe(
      '[1] Set up (deploy.ipynb cell 2)\n[2] echo "$GREETING from $(basename "$PWD")" (deploy.ipynb cell 3)\n[3] Check (deploy.ipynb cell 5)\n',
    );
    expect(cmdrun(['run', '--quiet', '--block', 'check', 'deploy.ipynb'], dir)).toMatchObject({ status: 4, stdout: '' });
    expect(cmdrun(['run', '--quiet', '--block', 'setup', 'deploy.ipynb'], dir)).toMatchObject({ status: 0, stdout: '' });
    expect(cmdrun(['run', '--quiet', '--from', '1', '--to', '2', 'deploy.ipynb'], dir)).toMatchObject({ status: 0, stdout: 'hello from work\n\x1b[32mgreen\x1b[0m\n' });
  });

  test('--write-outputs fills the notebook itself in; --clear-outputs empties every code cell; both valid', () => {
    const dir = folder('deploy.ipynb', jupyterJson(BASH_NOTEBOOK));
    const path = join(dir, 'deploy.ipynb');
    expect(cmdrun(['run', '--quiet', '--to', '2', '--write-outputs', 'deploy.ipynb'], dir).status).toBe(0);
    validateNotebook(path);
    const written = readJson(path);
    expect(written.cells[2].outputs[0].text).toEqual(['hello from work\n', '\x1b[32mgreen\x1b[0m\n']);
    expect(written.cells[4]).toEqual(BASH_NOTEBOOK.cells[4]);
    expect(written.metadata).toEqual(BASH_NOTEBOOK.metadata);
    expect(cmdrun(['run', '--clear-outputs', 'deploy.ipynb'], dir).status).toBe(0);
    validateNotebook(path);
    const cleared = readJson(path);
    for (const cell of cleared.cells.filter((c: { cell_type: string }) => c.cell_type === 'code')) expect(cell).toMatchObject({ outputs: [], execution_count: null });
    expect(cleared.cells[0]).toEqual(BASH_NOTEBOOK.cells[0]);
  });

  test("a zsh notebook's cells run in zsh, unless --shell says otherwise", () => {
    const zsh = {
      cells: [{ cell_type: 'code', execution_count: null, id: 'z1', metadata: {}, outputs: [], source: ['echo "${ZSH_VERSION:+zsh}${BASH_VERSION:+bash}"'] }],
      metadata: { kernelspec: { display_name: 'Z shell', language: 'zsh', name: 'zsh' } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    const dir = folder('z.ipynb', jupyterJson(zsh));
    expect(cmdrun(['run', '--quiet', 'z.ipynb'], dir)).toMatchObject({ status: 0, stdout: 'zsh\n' });
    expect(cmdrun(['run', '--quiet', '--shell', 'bash', 'z.ipynb'], dir)).toMatchObject({ status: 0, stdout: 'bash\n' });
  });

  test('a Python notebook is refused with its language named; a malformed one is a clear error; both exit 2', () => {
    const python = { ...BASH_NOTEBOOK, metadata: { kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' }, language_info: { name: 'python' } } };
    const dir = folder('py.ipynb', jupyterJson(python));
    expect(cmdrun(['run', 'py.ipynb'], dir)).toMatchObject({
      status: 2,
      stdout: '',
      stderr: 'cmdrun: py.ipynb: a python notebook (kernel "Python 3 (ipykernel)"): cmdrun runs notebooks whose kernel language is bash, sh, zsh\n',
    });
    writeFileSync(join(dir, 'bad.ipynb'), '{"cells": [');
    const bad = cmdrun(['run', 'bad.ipynb'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^cmdrun: bad\.ipynb: not a Jupyter notebook: .*JSON.*\n$/);
    writeFileSync(join(dir, 'v3.ipynb'), '{"nbformat": 3, "worksheets": []}');
    expect(cmdrun(['run', 'v3.ipynb'], dir)).toMatchObject({ status: 2, stderr: 'cmdrun: v3.ipynb: nbformat 3: cmdrun reads nbformat 4 notebooks\n' });
  });
});

describe('cmdrun run --report out.ipynb', () => {
  test('a runbook becomes a valid bash notebook: prose as markdown cells, blocks as code cells with outputs and counts, a failure visible', () => {
    const runbook = ['# Deploy', '', 'First:', '', '```sh {name=greet}', "printf 'hi\\n'", '```', '', '```sh', 'exit 2', '```', '', '```sh', 'echo never', '```', '', 'The end.', ''].join('\n');
    const dir = folder('RUNBOOK.md', runbook);
    expect(cmdrun(['run', '--quiet', '--write-outputs', '--report', 'out.ipynb', 'RUNBOOK.md'], dir).status).toBe(2);
    // Written twice over, the runbook's own outputs are no prose in the notebook.
    expect(cmdrun(['run', '--quiet', '--report', 'out.ipynb', 'RUNBOOK.md'], dir).status).toBe(2);
    expect(validateNotebook(join(dir, 'out.ipynb'))).toBe('4 5');
    const nb = readJson(join(dir, 'out.ipynb'));
    expect(nb.metadata).toEqual({
      kernelspec: { display_name: 'Bash', language: 'bash', name: 'bash' },
      language_info: { codemirror_mode: 'shell', file_extension: '.sh', mimetype: 'text/x-sh', name: 'bash' },
    });
    expect(nb.cells).toEqual([
      { cell_type: 'markdown', id: 'cell-1', metadata: {}, source: ['# Deploy\n', '\n', 'First:'] },
      { cell_type: 'code', execution_count: 1, id: 'cell-2', metadata: { name: 'greet' }, outputs: [{ name: 'stdout', output_type: 'stream', text: ['hi\n'] }], source: ["printf 'hi\\n'"] },
      { cell_type: 'code', execution_count: 2, id: 'cell-3', metadata: {}, outputs: [{ ename: 'ExitStatus', evalue: 'exit status 2', output_type: 'error', traceback: ['exit status 2'] }], source: ['exit 2'] },
      { cell_type: 'code', execution_count: null, id: 'cell-4', metadata: {}, outputs: [], source: ['echo never'] },
      { cell_type: 'markdown', id: 'cell-5', metadata: {}, source: ['The end.'] },
    ]);
  });

  test('a shell script becomes code cells, and the report opens as a notebook cmdrun runs again', () => {
    const dir = folder('s.sh', '# %% One\nx=5\n\n# %% Two\necho "x is $x"\n');
    expect(cmdrun(['run', '--quiet', '--report', 'out.ipynb', 's.sh'], dir)).toMatchObject({ status: 0, stdout: 'x is 5\n' });
    validateNotebook(join(dir, 'out.ipynb'));
    expect(readJson(join(dir, 'out.ipynb')).cells.map((c: { source: string[] }) => c.source.join(''))).toEqual(['x=5', 'echo "x is $x"']);
    expect(cmdrun(['run', '--quiet', 'out.ipynb'], dir)).toMatchObject({ status: 0, stdout: 'x is 5\n' });
  });
});
