/**
 * A fleet run's panel (README "Fleets", on the page): the header names the fleet (`on @web: 12
 * hosts`), the host strip and count line sit under it, and the panel's terminal shows the chosen
 * host's output, streaming live; the input line sends to that host. "Group identical" shows each
 * distinct output once under its hosts (src/runs/group-outputs.ts), failing groups first; "Re-run
 * failed" runs the block again on the hosts that failed, were interrupted or unreachable. A fleet
 * run of the history (GET /api/history/:runId) is shown again in the same panel, hosts settled.
 */
import type { HistoryFleetRun } from '../src/history/fleet-history.js';
import { groupOutputs, lastLines, type OutputGroup } from '../src/runs/group-outputs.js';
import type { TargetGroup } from '../src/runs/host-output.js';
import { fleetLabel } from '../src/session/fleet-spec.js';
import { FleetHosts, type FleetHost, type HostEnd } from './fleet-hosts.js';
import { rememberFleet } from './fleet-labels.js';
import { HostStrip } from './host-strip.js';
import type { LiveOutputs } from './fleet-live.js';
import type { OutputView } from './output-view.js';
import { button } from './terminal-view.js';

/** The `fleet` event's data: `on` as written, the label to show, the hosts in fleet order. */
export interface FleetInfo {
  on: string;
  label: string;
  targets: string[];
}

/** What a fleet panel asks of the page. */
export interface FleetActions {
  /**
   * Runs the block again on the failed hosts of this run (a new run, in this panel's place); none
   * for a run of the history (the server no longer has it): the panel then offers no Re-run failed.
   */
  rerunFailed?(): void;
  /** Where the hosts' output is, a live run's (web/fleet-live.ts); none: this panel has it all (a run of the history). */
  live?: LiveOutputs;
}

/**
 * How often the grouped view is redrawn while hosts print or end (ms), at least: a live run's
 * groups come from the server, which reads every host's output for them, so the view is redrawn
 * no sooner than twice the time the last answer took after it.
 */
const GROUPS_MS = 300;
/**
 * Lines of each group's output Group identical shows (its last ones; the group's title shows all of
 * it as a terminal): 50 hosts' distinct megabytes would be 50 MB to read and lay out at every redraw.
 */
const GROUP_LINES = 200;

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
  /** Count the choices and the group draws: the server's answer to an older one is dropped. */
  private choices = 0;
  private groupDraws = 0;
  /**
   * The shown host's output events from a choice until the server's answer (undefined otherwise):
   * the answer holds those up to its `lastId`, the others are written after it.
   */
  private awaiting: Array<{ id: number; text: string }> | undefined;
  /** The id of the newest event the shown host's output from the server included: its output events up to it are in the terminal. */
  private shownThrough = 0;

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

  /**
   * A host printed (output event `id`): kept in its buffer, written to the terminal only if it is
   * the host shown and the server's answer for it did not include it. (A live run's stream carries
   * the shown host's output only; the others' `output` events are empty: they mark them running.)
   */
  output(target: string, text: string, id = Infinity): void {
    if (this.hosts.output(target, text)) this.strip.update(this.hosts.get(target));
    if (target === this.shown?.target && text) {
      if (this.awaiting) this.awaiting.push({ id, text });
      else if (id > this.shownThrough) this.view.write(text);
    }
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
    const choice = ++this.choices;
    this.shownThrough = 0;
    if (this.actions.live) {
      // The run's stream carries this host's output from now on; what it printed so far comes first.
      const awaiting: Array<{ id: number; text: string }> = (this.awaiting = []);
      void this.liveOutput(target).then((shown) => {
        if (choice !== this.choices) return;
        this.awaiting = undefined;
        // Without the server's answer, what this page has of the host (what came while it was shown, the events meanwhile too).
        this.shownThrough = shown?.lastId ?? awaiting.at(-1)?.id ?? 0;
        const raw = shown?.text ?? h.output.raw();
        if (raw) this.view.write(raw);
        for (const e of awaiting) if (e.id > this.shownThrough) this.view.write(e.text);
      });
    } else {
      this.awaiting = undefined;
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
  private scheduleGroups(after = GROUPS_MS): void {
    if (this.groupsScheduled) return;
    this.groupsScheduled = true;
    setTimeout(() => {
      this.groupsScheduled = false;
      if (this.grouped) void this.drawGroups();
    }, after);
  }

  /**
   * Host `target`'s output so far from the server; once it no longer keeps the run, every host's
   * output is taken from the history into this panel (then undefined: the panel has it). Undefined
   * too when neither could be read: the panel shows what it has.
   */
  private async liveOutput(target: string): Promise<{ text: string; lastId: number } | undefined> {
    const live = this.actions.live;
    try {
      return (await live?.show(target)) ?? (await this.fromHistory(live), undefined);
    } catch {
      return undefined;
    }
  }

  /** Every host's output, from the history once the server no longer keeps the run. */
  private async groupsNow(): Promise<Array<OutputGroup & Partial<TargetGroup>>> {
    const live = this.actions.live;
    try {
      const groups = await live?.groups(GROUP_LINES);
      if (groups) return groups;
      await this.fromHistory(live);
    } catch {
      // the server could not be asked: what this panel has
    }
    return groupOutputs(this.hosts.results());
  }

  /** Takes every host's output from the history into this panel (the server no longer keeps the run). */
  private async fromHistory(live: LiveOutputs | undefined): Promise<void> {
    const run = await live?.history();
    if (!run || this.actions.live !== live) return;
    for (const h of run.hosts) this.hosts.take(h.target, { raw: h.output, dropped: 0 });
    this.actions.live = undefined;
  }

  private async drawGroups(): Promise<void> {
    const draw = ++this.groupDraws;
    const t0 = performance.now();
    const groups = await this.groupsNow();
    if (draw !== this.groupDraws || !this.grouped) return;
    // A live run's stream no longer says when the other hosts print: the groups are read again while it runs.
    if (this.actions.live && !this.hosts.done) this.scheduleGroups(Math.max(GROUPS_MS, 2 * (performance.now() - t0)));
    const items = groups.map((g) => {
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
        this.choose(g.targets?.[0] ?? this.hosts.hosts.find((h) => h.name === g.hosts[0])!.target);
      };
      // From the server, cut already; from the history (or this panel), cut here.
      const cut = g.omittedLines !== undefined ? { text: g.output, omitted: g.omittedLines } : lastLines(g.output, GROUP_LINES);
      const pre = document.createElement('pre');
      pre.className = 'fleet-group-output';
      pre.textContent = cut.text || '(no output)';
      if (cut.omitted > 0) {
        const more = document.createElement('div');
        more.className = 'fleet-group-more';
        more.textContent = `… ${cut.omitted.toLocaleString('en')} earlier lines: the title shows all of it`;
        item.append(head, more, pre);
      } else {
        item.append(head, pre);
      }
      return item;
    });
    this.groups.replaceChildren(...items);
  }
}
