/**
 * cmdrun's line after a remote or container shell's terminal closed during a block (session.ts).
 */
import { containerState, type ContainerOptions } from './container.js';
import { carrier, type RemoteOptions } from './remote.js';

/**
 * What to say when a remote shell's terminal closed during a block: closed by cmdrun (`why`: a
 * second interrupt, a restart), or lost: for a container, what its engine says of it (stopped,
 * removed; asked here, at most 10 s), else the connection.
 * @param target the session's target as shown (`ssh://web1`, `podman://app`).
 * @param env the environment the engine's CLI runs with.
 * @param why how cmdrun closed it ('closed to stop the block'), or undefined when it was lost.
 * @param status the carrier's exit status (ssh's, or the engine CLI's).
 */
export async function lostMessage(remote: RemoteOptions, target: string, env: Parameters<typeof containerState>[1], why: string | undefined, status: number): Promise<string> {
  const name = carrier(remote);
  if (remote.target.kind === 'ssh' || why) {
    const again = remote.target.kind === 'ssh' ? 'the next block connects again' : 'the next block starts a new shell in it';
    const what = remote.target.kind === 'ssh' ? `the connection to ${target}` : `the shell in ${target}`;
    return `\ncmdrun: ${what} was ${why ?? 'lost'} (${name} exited with status ${status}); ${again}\n`;
  }
  const { container } = remote.target;
  const state = await containerState(remote as ContainerOptions, env);
  if (state === undefined) return `\ncmdrun: the container ${container} is gone (removed, or ${name} cannot reach it: ${name} exited with status ${status}); the next block tries again\n`;
  if (state !== 'running') return `\ncmdrun: the container ${container} stopped (${state}); the next block starts a new shell in it\n`;
  return `\ncmdrun: the shell in ${target} was lost (${name} exited with status ${status}); the next block starts a new shell in it\n`;
}
