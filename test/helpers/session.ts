import { tmpdir } from 'node:os';
import { ShellSession, type BlockResult } from '../../src/session/session.js';

/** A block's result and everything it printed. */
export type Ran = BlockResult & { output: string };

/** Starts a real bash session in the temp folder. */
export function startBash(): Promise<ShellSession> {
  return ShellSession.start({ shell: 'bash', cwd: tmpdir(), scriptName: 'test.sh' });
}

/** Runs one block and collects its output. */
export async function run(session: ShellSession, code: string, lineStart?: number): Promise<Ran> {
  let output = '';
  const result = await session.run(code, { lineStart, onOutput: (text) => (output += text) });
  return { ...result, output };
}
