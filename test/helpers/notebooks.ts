// Notebooks as Jupyter writes them, for the tests of .ipynb in and out (CLI and page).

/** A notebook as JupyterLab 4 saves one with bash_kernel: nbformat 4.5, one-space JSON, keys sorted. */
export const BASH_NOTEBOOK = {
  cells: [
    {
      attachments: { 'diagram.png': { 'image/png': 'iVBORw0KGgo=' } },
      cell_type: 'markdown',
      id: 'a1b2c3d4-0001',
      metadata: {},
      source: ['# Deploy\n', '\n', 'Set things up: ![diagram](attachment:diagram.png)'],
    },
    {
      cell_type: 'code',
      execution_count: 7,
      id: 'a1b2c3d4-0002',
      metadata: { collapsed: false, tags: ['setup'] },
      outputs: [{ name: 'stdout', output_type: 'stream', text: ['stale output\n'] }],
      source: ['# Set up\n', 'mkdir -p work && cd work\n', 'GREETING=hello'],
    },
    {
      cell_type: 'code',
      execution_count: null,
      id: 'a1b2c3d4-0003',
      metadata: {},
      outputs: [],
      source: ['echo "$GREETING from $(basename "$PWD")"\n', "printf '\\033[32mgreen\\033[0m\\n'"],
    },
    { cell_type: 'raw', id: 'a1b2c3d4-0004', metadata: { format: 'text/plain' }, source: ['raw text, kept'] },
    {
      cell_type: 'code',
      execution_count: null,
      id: 'a1b2c3d4-0005',
      metadata: { tags: ['check'] },
      outputs: [],
      source: ['# Check\n', 'test -d ../work && echo "work exists"; exit 4'],
    },
    { cell_type: 'code', execution_count: null, id: 'a1b2c3d4-0006', metadata: {}, outputs: [], source: [] },
  ],
  metadata: {
    kernelspec: { display_name: 'Bash', language: 'bash', name: 'bash' },
    language_info: { codemirror_mode: 'shell', file_extension: '.sh', mimetype: 'text/x-sh', name: 'bash' },
    widgets: { 'application/vnd.jupyter.widget-state+json': { state: {}, version_major: 2, version_minor: 0 } },
  },
  nbformat: 4,
  nbformat_minor: 5,
};

/** JSON as Jupyter writes it (json.dump(indent=1, sort_keys=True) and a final newline). */
export const jupyterJson = (value: unknown) => `${JSON.stringify(value, null, 1)}\n`;


/** {@link BASH_NOTEBOOK} as `cmdrun run` executes it: the run cells' counts and outputs filled in. */
export function executedBashNotebook(): typeof BASH_NOTEBOOK & { cells: Array<Record<string, unknown>> } {
  const expected = structuredClone(BASH_NOTEBOOK) as typeof BASH_NOTEBOOK & { cells: Array<Record<string, unknown>> };
  Object.assign(expected.cells[1], { execution_count: 1, outputs: [] });
  Object.assign(expected.cells[2], { execution_count: 2, outputs: [{ name: 'stdout', output_type: 'stream', text: ['hello from work\n', '\x1b[32mgreen\x1b[0m\n'] }] });
  Object.assign(expected.cells[4], {
    execution_count: 3,
    outputs: [
      { name: 'stdout', output_type: 'stream', text: ['work exists\n'] },
      { ename: 'ExitStatus', evalue: 'exit status 4', output_type: 'error', traceback: ['exit status 4'] },
    ],
  });
  return expected;
}
