/**
 * What the page calls a fleet before and after it runs: `@web: 12 hosts` once a `fleet` event
 * said how many hosts the group has (this page's runs, or runs shown again after a reload),
 * `3 hosts: ssh://a, ssh://b, local` for a list, and the text as written for a group not run yet
 * (only the server's Ansible resolves a group).
 */

/** The last label a `fleet` event gave for each `on` as written. */
const known = new Map<string, string>();

/** True when `on` names a fleet (it has a comma, or starts with `@`), not a single target. */
export function isFleetText(on: string): boolean {
  return on.includes(',') || on.startsWith('@');
}

/** Remembers a `fleet` event's label for blocks written `on`. */
export function rememberFleet(on: string, label: string): void {
  known.set(on, label);
}

/** The fleet's name for a tooltip or header: the label known for it, else what can be told from its text. */
export function fleetName(on: string): string {
  const label = known.get(on);
  if (label) return label;
  const items = on.split(',');
  if (items.some((item) => item.startsWith('@'))) return on;
  return `${items.length} ${items.length === 1 ? 'host' : 'hosts'}: ${items.join(', ')}`;
}
