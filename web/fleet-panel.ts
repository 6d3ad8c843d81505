/**
 * A fleet run's panel (README "Fleets", on the page): the header names the fleet (`on @web: 12
 * hosts`), the host strip and count line sit under it, and the panel's terminal shows the chosen
 * host's output, streaming live; the input line sends to that host. "Group identical" shows each
 * distinct output once under its hosts (src/runs/group-outputs.ts), failing groups first; "Re-run
 * failed" runs the block again on the hosts that failed, were interrupted or unreachable. A fleet
 * run of the history (GET /api/history/:runId) is shown again in the same panel, hosts settled.
 */
import type { HistoryFleetRun } from '../src/history/fleet-history.js';
import { groupOutputs } from '../src/runs/group-outputs.js';
import { fleetLabel } from '../src/session/fleet-spec.js';
import { FleetHosts, type FleetHost, type HostEnd } from './fleet-hosts.js';
import { rememberFleet } from './fleet-labels.js';
import { HostStrip } from './host-strip.js';
import type { HostOutput } from './event-streams.js';
import type { OutputView } from './output-view.js';
import { button } from './terminal-view.js';

/** The `fleet` event's data: `on` as written, the label to show, the hosts in fleet order. */
export interface FleetInfo {
  on: string;
  label: string;
  targets: string[];
}

/**
 * A live fleet run's output, kept by the worker that reads its events (web/event-streams.ts) until
 * the run is no longer followed; undefined from either: the worker no longer has it (the panel has
 * every host's output by then).
 */
export interface LiveOutputs {
  /** Shows host `target` from now on: what it printed so far. */
  show(target: string): Promise<string | undefined>;
  /** Every host's output so far as plain text, by target. */
  texts(): Promise<Record<string, string> | undefined>;
}

/** What a fleet panel asks of the page. */
export interface FleetActions {
  /**
   * Runs the block again on the failed hosts of this run (a new run, in this panel's place); none
   * for a run of the history (the server no longer has it): the panel then offers no Re-run failed.
   */
  rerunFailed?(): void;
  /** Where the hosts' output is while the run streams (none: this panel has it all). */
  live?: LiveOutputs;
}

/** How often the grouped view is redrawn while hosts print or end (ms). */
const GROUPS_MS = 300;

function fleetButton(label: string, title: string, testid: string): HTMLButtonElement {
  const b = button(label, title);
  b.dataset.testid = testid;
  return b;
}

/** The fleet panel of each output panel that shows a fleet run. */
const panels = new WeakMap<OutputView, FleetPanel>();

/** The fleet panel of output panel `view`, when it shows a fleet run. */
export function fleetOf(view: OutputView | undefined): FleetPanel | undefined {
  return view && panels.get(view);
}

export class FleetPanel {
  readonly hosts: FleetHosts;
  private readonly strip: HostStrip;
  private readonly dom: HTMLElement;
  private readonly groupButton: HTMLButtonElement;
  private readonly rerunButton: HTMLButtonElement;
  private readonly groups: HTMLElement;
  /** The host whose output the terminal shows (and the input line sends to). */
  private shown: FleetHost;
  /** True once the user chose a host (the page then never chooses for them). */
  private userChose = false;
  private grouped = false;
  private groupsScheduled = false;
  /** Count the choices and the group draws: a worker's answer to an older one is dropped. */
  private choices = 0;
  private groupDraws = 0;
  /**
   * True from a choice until the worker's answer: the shown host's output meanwhile is in the
   * answer (the worker sent it before it took the choice), so it is not written twice.
   */
  private awaitingOutput = false;

  constructor(
    private readonly view: OutputView,
    info: FleetInfo,
    private readonly actions: FleetActions,
  ) {
    this.hosts = new FleetHosts(info.targets);
    panels.set(view, this);
    rememberFleet(info.on, info.label);
    view.setTarget(info.label);
    view.dom.classList.add('fleet');
    view.dom.dataset.fleet = info.on;
    this.dom = document.createElement('div');
    this.dom.className = 'fleet-panel';
    this.strip = new HostStrip(this.hosts, (target) => {
      this.userChose = true;
      this.choose(target);
    });
    const bar = document.createElement('div');
    bar.className = 'fleet-bar';
    this.groupButton = fleetButton('Group identical', 'Show each distinct output once, under the hosts that printed it', 'group-identical');
    this.groupButton.setAttribute('aria-pressed', 'false');
    this.groupButton.onclick = () => this.setGrouped(!this.grouped);
    this.rerunButton = fleetButton('Re-run failed', 'Run this block again on the hosts that failed, were interrupted or could not be reached', 'rerun-failed');
    this.rerunButton.hidden = true;
    this.rerunButton.onclick = () => this.actions.rerunFailed?.();
    bar.append(this.strip.count, this.groupButton, this.rerunButton);
    this.groups = document.createElement('div');
    this.groups.className = 'fleet-groups';
    this.groups.dataset.testid = 'fleet-groups';
    this.groups.hidden = true;
    this.dom.append(bar, this.strip.dom, this.groups);
    view.insertBelowHeader(this.dom);
    this.shown = this.hosts.hosts[0];
    if (this.shown) this.choose(this.shown.target);
  }

  /** True when some host is on another machine: the input line cannot tell when they wait. */
  get remote(): boolean {
    return this.hosts.hosts.some((h) => h.target.startsWith('ssh://'));
  }

  /** The target the input line sends to (and Ctrl+C in it interrupts). */
  get chosen(): string | undefined {
    return this.shown?.target;
  }

  /** A host took a fork slot. */
  hostStarted(data: { target: string; startedAt: number; connecting?: boolean }): void {
    this.strip.update(this.hosts.started(data.target, data.startedAt, data.connecting ?? false));
    this.shown ??= this.hosts.get(data.target);
  }

  /** A host printed: kept in its buffer, written to the terminal only if it is the host shown. */
  output(target: string, text: string): void {
    if (this.hosts.output(target, text)) this.strip.update(this.hosts.get(target));
    if (target === this.shown?.target && !this.awaitingOutput) this.view.write(text);
    if (this.grouped) this.scheduleGroups();
  }

  /** A host's block waits for input: its chip is marked, and the input line if it is shown. */
  waiting(target: string): void {
    this.strip.update(this.hosts.waiting(target));
    if (target === this.shown?.target) this.view.markWaiting(true);
  }

  /** A host ended. */
  hostEnded(data: HostEnd & { target: string }): void {
    const h = this.hosts.ended(data.target, data);
    this.strip.update(h);
    if (h === this.shown) this.view.markWaiting(false);
    if (this.grouped) this.scheduleGroups();
  }

  /** The run ended: every host settles; Re-run failed shows when some host failed. */
  ended(hosts?: readonly (HostEnd & { target: string })[]): void {
    this.hosts.runEnded(hosts);
    for (const h of this.hosts.hosts) this.strip.update(h);
    // Until the user chose a host, the first failing one in fleet order (whose exit status is the run's) is shown.
    const failed = this.hosts.failedTargets()[0];
    if (!this.userChose && failed !== undefined) this.choose(failed);
    this.strip.dispose();
    this.rerunButton.hidden = this.hosts.failedTargets().length === 0 || !this.actions.rerunFailed;
    if (this.grouped) this.scheduleGroups();
  }

  /**
   * Shows a fleet run of the history in this panel: every host's output and how it ended (a host
   * without an exit status is unfinished), then the run's end (the first failing host is shown).
   */
  restore(hosts: HistoryFleetRun['hosts']): void {
    for (const h of hosts) {
      this.hostStarted({ target: h.target, startedAt: h.startedAt });
      if (h.output) this.output(h.target, h.output);
      if (h.finished) this.hostEnded({ target: h.target, exitCode: h.exitCode!, durationMs: h.durationMs ?? 0, interrupted: h.interrupted, unreachable: h.unreachable });
      else this.strip.update(this.hosts.unfinished(h.target));
    }
    this.ended();
  }

  /** How many hosts Re-run failed runs again (0 until the run ended). */
  get failedCount(): number {
    return this.rerunButton.hidden ? 0 : this.hosts.failedTargets().length;
  }

  /** Shows the output of `target`'s host in the terminal (and leaves the grouped view). */
  choose(target: string): void {
    const h = this.hosts.get(target);
    if (this.grouped) this.setGrouped(false);
    this.strip.setChosen(target);
    this.view.dom.dataset.host = target;
    if (h === this.shown && this.view.dom.dataset.shownHost === target) return;
    this.shown = h;
    this.view.dom.dataset.shownHost = target;
    this.view.clearOutput();
    if (this.actions.live) {
      // The worker sends this host's output from now on; what it printed so far comes first.
      const choice = ++this.choices;
      this.awaitingOutput = true;
      void this.actions.live.show(target).then((raw = h.output.raw()) => {
        if (choice !== this.choices) return;
        this.awaitingOutput = false;
        if (raw) this.view.write(raw);
      });
    } else {
      const raw = h.output.raw();
      if (raw) this.view.write(raw);
    }
    this.view.setInputTarget(h.name);
    this.view.markWaiting(h.waiting);
  }

  /** Shows fleet run `run` of the history in `view` (a panel marked as from the history): a fleet panel, its hosts settled. */
  static fromHistory(view: OutputView, run: HistoryFleetRun): FleetPanel {
    const panel = new FleetPanel(view, { on: run.fleet, label: fleetLabel(run.fleet, run.hosts.length), targets: run.hosts.map((h) => h.target) }, {});
    panel.restore(run.hosts);
    return panel;
  }

  private setGrouped(grouped: boolean): void {
    this.grouped = grouped;
    this.groupButton.setAttribute('aria-pressed', String(grouped));
    this.view.dom.classList.toggle('fleet-grouped', grouped);
    this.groups.hidden = !grouped;
    if (grouped) void this.drawGroups();
    else this.groups.replaceChildren();
  }

  /** Redraws the groups at most every GROUPS_MS while hosts print (each draw reads every host's output). */
  private scheduleGroups(): void {
    if (this.groupsScheduled) return;
    this.groupsScheduled = true;
    setTimeout(() => {
      this.groupsScheduled = false;
      if (this.grouped) void this.drawGroups();
    }, GROUPS_MS);
  }

  /**
   * Takes over host `target`'s whole output from the worker (the run is no longer followed);
   * once every host's is here, `released()`.
   */
  takeOutput(target: string, output: HostOutput): void {
    this.hosts.take(target, output);
  }

  /** Every host's output is in this panel now. */
  released(): void {
    this.actions.live = undefined;
  }

  private async drawGroups(): Promise<void> {
    const draw = ++this.groupDraws;
    const texts = await this.actions.live?.texts();
    if (draw !== this.groupDraws || !this.grouped) return;
    const items = groupOutputs(this.hosts.results(texts)).map((g) => {
      const item = document.createElement('section');
      item.className = `fleet-group${g.failed ? ' failed' : ''}`;
      item.dataset.testid = 'fleet-group';
      const head = document.createElement('button');
      head.type = 'button';
      head.className = 'fleet-group-head';
      head.title = `Show ${g.hosts[0]}'s output as a terminal`;
      head.textContent = `${g.label} · ${g.outcome}`;
      head.onclick = () => {
        this.userChose = true;
        this.choose(this.hosts.hosts.find((h) => h.name === g.hosts[0])!.target);
      };
      const pre = document.createElement('pre');
      pre.className = 'fleet-group-output';
      pre.textContent = g.output || '(no output)';
      item.append(head, pre);
      return item;
    });
    this.groups.replaceChildren(...items);
  }
}
