// The nbformat validator (Debian's python3-nbformat, installed by .ci/run) run on a notebook file:
// every .ipynb cmdrun writes is checked against the nbformat JSON schema by Jupyter's own code.
import { spawnSync } from 'node:child_process';

/** A python3 that can import nbformat: Debian's first (a pyenv python3 on PATH may lack it). */
function python(): string {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import nbformat'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('no python3 with nbformat: install python3-nbformat (.ci/run does)');
}

// The file's JSON as it is (nbformat.read would repair some faults, such as missing cell ids, first).
const SCRIPT = 'import json,nbformat,sys; nb=json.load(open(sys.argv[1], encoding="utf-8")); nbformat.validate(nb, relax_add_props=False, repair_duplicate_cell_ids=False, strip_invalid_metadata=False); print(nb["nbformat"], nb["nbformat_minor"])';

/**
 * Validates the notebook at `path`, its JSON as written, with nbformat.validate (the schema of its
 * version, no extra properties allowed) and returns its `nbformat.nbformat_minor`.
 * @throws Error with the validator's message when the file is no valid notebook.
 */
export function validateNotebook(path: string): string {
  const r = spawnSync(python(), ['-c', SCRIPT, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nbformat refused ${path}:\n${r.stderr}`);
  return r.stdout.trim();
}
