// The session conformance suite (test/helpers/conformance.ts) through real shells: every shell runs
// it twice, on this machine and over ssh to a real sshd on 127.0.0.1 (test/helpers/sshd.ts).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ShellSession } from '../../src/session/session.js';
import { CASES, conformanceCases, installed, SHELLS } from '../helpers/conformance.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
afterAll(async () => {
  await sshd?.stop();
});

for (const [shell, via] of SHELLS.flatMap((s) => [[s, 'local'], [s, 'ssh']] as const)) {
  describe.skipIf(!installed(shell))(`${shell} session${via === 'ssh' ? ' over ssh' : ''}`, () => {
    let session: ShellSession;
    beforeAll(async () => {
      if (via === 'local') {
        session = await ShellSession.start({ shell, cwd: '/tmp', scriptName: 'conformance.sh' });
        return;
      }
      sshd ??= await startSshd();
      const remote = { target: { kind: 'ssh', host: sshd.host } as const, sshCommand: sshd.sshCommand };
      session = await ShellSession.start({ shell, cwd: '/tmp', scriptName: 'conformance.sh', remote });
    });
    afterAll(async () => {
      await session?.close();
    });

    conformanceCases(shell, () => session, { remote: via === 'ssh' });
  });
}

test('the suite has at least 50 cases per shell', () => {
  for (const shell of SHELLS) expect(CASES.filter((c) => !c.only || c.only.includes(shell)).length).toBeGreaterThanOrEqual(50);
});
