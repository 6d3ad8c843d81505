/**
 * Fleet targets as written (README "Fleets"): a comma-separated list of targets
 * (`ssh://web1,ssh://web2,local`) and `@GROUP`, a group of an Ansible inventory (`@all`: every
 * host), alone or in the list. Reading one here does no I/O (the page uses it as the server does);
 * groups are resolved by the user's own Ansible (inventory.ts).
 */
import { formatTarget, parseTarget, TargetError } from './target.js';

/** One item of a fleet: a target (canonical text, target.ts) or an inventory group's name. */
export type FleetItem = { kind: 'target'; target: string } | { kind: 'group'; group: string };

/**
 * An Ansible group name: letters, digits, `_`, `-` and `.` (Ansible warns on `-` and `.` but
 * reads them), not starting with `-` or `.`.
 */
const GROUP = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** True when `text` names a fleet (it has a comma, or starts with `@`), not a single target. */
export function isFleet(text: string): boolean {
  return text.includes(',') || text.startsWith('@');
}

/**
 * Reads a fleet's items in the order written; empty items (`a,,b`, a trailing comma) are refused.
 * @throws TargetError naming the item that is wrong (parseTarget's reason, or a bad group name).
 */
export function parseFleet(text: string): FleetItem[] {
  return text.split(',').map((item): FleetItem => {
    if (item === '') throw new TargetError(text, 'a fleet has no empty item (two commas, or one at an end)');
    if (item.startsWith('@')) {
      const group = item.slice(1);
      if (!GROUP.test(group)) throw new TargetError(text, `${JSON.stringify(item)} is not an inventory group (letters, digits, "_", "-", ".")`);
      return { kind: 'group', group };
    }
    try {
      return { kind: 'target', target: formatTarget(parseTarget(item)) };
    } catch (err) {
      if (err instanceof TargetError) throw new TargetError(text, `${JSON.stringify(item)}: ${err.reason}`);
      throw err;
    }
  });
}

/**
 * Checks a target or fleet as written (`--on`, a block's `on=`, the API's `on`).
 * @throws TargetError for a malformed target or fleet.
 */
export function checkTargetOrFleet(text: string): void {
  if (isFleet(text)) parseFleet(text);
  else parseTarget(text);
}

/**
 * What the page shows of a fleet of `hosts` hosts written `on`: `@web: 12 hosts` for one group,
 * `3 hosts` for a list (`1 host`).
 */
export function fleetLabel(on: string, hosts: number): string {
  const count = `${hosts} host${hosts === 1 ? '' : 's'}`;
  return /^@[^,]+$/.test(on) ? `${on}: ${count}` : count;
}

/** A host's name as people read it: its target without `ssh://` (`web01`, `deploy@db1:2222`, `local`). */
export function hostName(target: string): string {
  return target.startsWith('ssh://') ? target.slice('ssh://'.length) : target;
}
