/**
 * What the page calls a fleet before and after it runs: the `fleet` event's label once a run
 * said it (`@web: 12 hosts`: this page's runs, or runs shown again after a reload), else what its
 * text tells (`3 hosts` for a list; a group as written, since only the server's Ansible resolves it).
 */
import { fleetLabel, isFleet } from '../src/session/fleet-spec.js';

export { isFleet };

/** The last label a `fleet` event gave for each `on` as written. */
const known = new Map<string, string>();

/** Remembers a `fleet` event's label for blocks written `on`. */
export function rememberFleet(on: string, label: string): void {
  known.set(on, label);
}

/** The fleet's name for a tooltip or a panel header. */
export function fleetName(on: string): string {
  const label = known.get(on);
  if (label) return label;
  const items = on.split(',');
  return items.some((item) => item.startsWith('@')) ? on : fleetLabel(on, new Set(items).size);
}
