/**
 * A fleet panel's host strip: the count line ("12 hosts: 10 ok, 1 failed, 1 unreachable") and one
 * chip per host with its name, state and duration; choosing a chip (click, or Enter/Space on it,
 * arrow keys move between chips) shows that host's output. Chips are redrawn one at a time, when
 * their host's state changes; running hosts' durations tick once a second.
 */
import { formatDuration } from '../src/runs/format.js';
import { FleetHosts, type FleetHost } from './fleet-hosts.js';

/** How often running hosts' durations are redrawn (ms). */
const TICK_MS = 1000;

interface Chip {
  el: HTMLButtonElement;
  state: HTMLElement;
  time: HTMLElement;
}

export class HostStrip {
  readonly dom: HTMLElement;
  readonly count: HTMLElement;
  private readonly list: HTMLElement;
  private readonly chips = new Map<string, Chip>();
  private chosen?: string;
  private timer?: ReturnType<typeof setInterval>;

  /** @param choose the user chose the host of this target */
  constructor(
    private readonly fleet: FleetHosts,
    private readonly choose: (target: string) => void,
  ) {
    this.dom = document.createElement('div');
    this.dom.className = 'fleet-strip';
    this.count = document.createElement('span');
    this.count.className = 'fleet-count';
    this.count.dataset.testid = 'fleet-count';
    this.count.setAttribute('role', 'status');
    this.list = document.createElement('div');
    this.list.className = 'fleet-hosts';
    this.list.setAttribute('role', 'tablist');
    this.list.setAttribute('aria-label', 'Hosts: choose one to see its output');
    this.list.addEventListener('keydown', (event) => this.keydown(event));
    this.dom.append(this.list);
    for (const h of fleet.hosts) this.update(h);
    this.updateCount();
  }

  /** Redraws the chip of `h` (made when new) and the count line. */
  update(h: FleetHost): void {
    let chip = this.chips.get(h.target);
    if (!chip) {
      chip = this.makeChip(h);
      this.chips.set(h.target, chip);
      this.list.append(chip.el);
    }
    const text = FleetHosts.stateText(h);
    chip.el.dataset.state = h.state;
    chip.el.classList.toggle('waiting', h.waiting);
    chip.state.textContent = h.waiting ? 'waiting for input' : text;
    chip.time.textContent = this.duration(h);
    chip.el.title = `${h.target}: ${h.waiting ? 'waiting for input' : text}${chip.time.textContent ? ` · ${chip.time.textContent}` : ''}`;
    this.updateCount();
    this.tick();
  }

  /** Marks `target` as the host shown. */
  setChosen(target: string): void {
    for (const [t, chip] of this.chips) {
      chip.el.setAttribute('aria-selected', String(t === target));
      chip.el.tabIndex = t === target ? 0 : -1;
    }
    this.chosen = target;
  }

  /** Stops the duration clock (the panel is gone). */
  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private updateCount(): void {
    this.count.textContent = this.fleet.countLine();
  }

  private duration(h: FleetHost): string {
    if (h.durationMs !== undefined) return formatDuration(h.durationMs);
    if (h.startedAt === undefined || h.state === 'queued' || h.state === 'unfinished') return '';
    return formatDuration(Math.max(0, Date.now() - h.startedAt));
  }

  /** Runs the clock while some host is under way, and stops it when none is. */
  private tick(): void {
    if (this.fleet.done) return this.dispose();
    this.timer ??= setInterval(() => {
      for (const h of this.fleet.hosts) if (h.state === 'running' || h.state === 'connecting') this.chips.get(h.target)!.time.textContent = this.duration(h);
      if (this.fleet.done || !this.dom.isConnected) this.dispose();
    }, TICK_MS);
  }

  private makeChip(h: FleetHost): Chip {
    const el = document.createElement('button');
    el.type = 'button';
    el.className = 'fleet-host';
    el.dataset.target = h.target;
    el.dataset.testid = 'fleet-host';
    el.setAttribute('role', 'tab');
    el.tabIndex = -1;
    const name = document.createElement('span');
    name.className = 'fleet-host-name';
    name.textContent = h.name;
    const state = document.createElement('span');
    state.className = 'fleet-host-state';
    const time = document.createElement('span');
    time.className = 'fleet-host-time';
    el.append(name, state, time);
    el.onclick = () => this.choose(h.target);
    return { el, state, time };
  }

  private keydown(event: KeyboardEvent): void {
    const order = [...this.chips.keys()];
    const at = order.indexOf(this.chosen ?? '');
    const step = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : 0;
    const to = event.key === 'Home' ? 0 : event.key === 'End' ? order.length - 1 : step ? (at + step + order.length) % order.length : -1;
    if (to < 0) return;
    event.preventDefault();
    this.choose(order[to]);
    this.chips.get(order[to])!.el.focus();
  }
}
