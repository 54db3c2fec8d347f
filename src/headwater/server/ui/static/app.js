// The headwater UI: one page that routes on location.pathname and reads the public JSON API.
// Libraries (vendored, see vendor/VERSIONS.txt): Chart.js draws the runs chart, vis-timeline
// the task-run timeline, Cytoscape.js with its dagre layout the task and asset graphs.
// Nothing here holds more than a page of rows: lists are paged by cursor, the timeline asks
// the server for the bars of the window shown, logs keep at most MAX_LOG_LINES lines.

const POLL_MS = 500;
const MAX_LOG_LINES = 1000;
const FINAL = new Set(["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]);
const RESUMABLE = new Set(["FAILED", "CRASHED", "CANCELLED"]);
const STATE_COLORS = {
  COMPLETED: "#1a7f37", FAILED: "#cf222e", CRASHED: "#a40e82", CANCELLED: "#9a6700",
  RUNNING: "#1f6feb", PENDING: "#8c959f", SCHEDULED: "#0a8a9a", PAUSED: "#bc4c00",
  CANCELLING: "#bc4c00",
};
const main = document.getElementById("main");
let stopPage = () => {};  // stops the current page's polling and widgets

// -- helpers --------------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// The libraries load when a page first needs one: the run page parses only the timeline's,
// not 700 kB of chart and graph code it shows later, if ever.
const LIBRARIES = {
  chart: ["/static/vendor/chart.umd.min.js"],
  timeline: ["/static/vendor/vis-timeline-graph2d.min.js"],
  graph: ["/static/vendor/cytoscape.min.js", "/static/vendor/cytoscape-dagre.min.js"],
};
const loaded = {};

function need(name) {
  loaded[name] ??= LIBRARIES[name].reduce((before, src) => before.then(() => new Promise((ok, fail) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = ok;
    script.onerror = () => fail(new Error(`Could not load ${src}: reload the page.`));
    document.head.append(script);
  })), Promise.resolve()).then(() => {
    if (name === "graph") window.cytoscape.use(window.cytoscapeDagre);
  });
  return loaded[name];
}

async function api(path, options = {}) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  const body = await response.json().catch(() => ({ message: response.statusText }));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function stateBadge(type, name) {
  return h("span", { class: `state ${type || "PENDING"}`, "data-state": type || "PENDING" },
           name || type || "Pending");
}

function when(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const d = new Date(seconds * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.1 ? 1 : 0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(2)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function shortId(id) { return id.slice(0, 8); }

function runLink(run) { return h("a", { href: `/runs/${run.id}` }, run.name); }

function showError(error) {
  main.replaceChildren(h("div", { class: "error", "data-testid": "error" }, error.message));
}

function poller(fn, ms = POLL_MS) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (error) { console.warn(error); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  document.getElementById("live").classList.add("on");
  return () => { stopped = true; clearTimeout(timer); };
}

function counts(states) {
  return h("div", { class: "counts", "data-testid": "counts" },
    Object.entries(states).map(([type, n]) =>
      h("span", { class: `state ${type}`, "data-count": type }, `${type.toLowerCase()} ${n}`)));
}

// -- routing --------------------------------------------------------------------------------
function route() {
  stopPage();
  stopPage = () => {};
  document.getElementById("live").classList.remove("on");
  const path = location.pathname;
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", path.startsWith(`/${a.dataset.nav}`));
  }
  let match;
  const page = (match = path.match(/^\/runs\/([^/]+)$/)) ? flowRunPage(decodeURIComponent(match[1]))
    : (match = path.match(/^\/task-runs\/([^/]+)$/)) ? taskRunPage(decodeURIComponent(match[1]))
    : path === "/assets/view" ? assetPage(new URLSearchParams(location.search).get("key") || "")
    : path === "/assets" ? assetsPage()
    : runsPage();
  page.catch(showError);
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a");
  if (!a || a.origin !== location.origin || event.ctrlKey || event.metaKey) return;
  if (a.pathname.startsWith("/api") || a.pathname.startsWith("/docs")) return;
  event.preventDefault();
  history.pushState(null, "", a.pathname + a.search);
  route();
});
window.addEventListener("popstate", route);

// -- the runs list --------------------------------------------------------------------------
const RANGES = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

async function runsPage() {
  const params = new URLSearchParams(location.search);
  const filters = {
    flow: params.get("flow") || "", state: params.get("state") || "",
    tag: params.get("tag") || "", range: params.get("range") || "24h",
  };
  const flows = await api("/api/flows");
  const flowSelect = h("select", { name: "flow", "data-testid": "filter-flow" },
    h("option", { value: "" }, "all flows"),
    flows.map((f) => h("option", { value: f.name, selected: f.name === filters.flow },
                        `${f.name} (${f.runs})`)));
  const stateSelect = h("select", { name: "state", "data-testid": "filter-state" },
    h("option", { value: "" }, "any state"),
    Object.keys(STATE_COLORS).map((s) => h("option", { value: s, selected: s === filters.state },
                                           s.toLowerCase())));
  const tagInput = h("input", { name: "tag", value: filters.tag, placeholder: "tag",
                                "data-testid": "filter-tag" });
  const rangeSelect = h("select", { name: "range", "data-testid": "filter-range" },
    Object.keys(RANGES).concat(["all"]).map((r) =>
      h("option", { value: r, selected: r === filters.range }, r === "all" ? "all time" : `last ${r}`)));
  const apply = () => {
    const next = { flow: flowSelect.value, state: stateSelect.value, tag: tagInput.value.trim(),
                   range: rangeSelect.value };
    history.replaceState(null, "", `/runs${query(next)}`);
    route();
  };
  for (const el of [flowSelect, stateSelect, rangeSelect]) el.addEventListener("change", apply);
  tagInput.addEventListener("change", apply);

  const seconds = RANGES[filters.range];
  const common = () => ({
    flow: filters.flow, state: filters.state, tag: filters.tag,
    created_after: seconds ? Date.now() / 1000 - seconds : undefined,
  });
  const countsBox = h("div");
  const canvas = h("canvas", { "data-testid": "runs-chart" });
  const body = h("tbody", { "data-testid": "runs-body" });
  const more = h("button", { "data-testid": "load-more", hidden: true }, "Load more");
  main.replaceChildren(
    h("h1", {}, "Flow runs"),
    h("div", { class: "filters" },
      h("label", {}, "Flow", flowSelect), h("label", {}, "State", stateSelect),
      h("label", {}, "Tag", tagInput), h("label", {}, "Created", rangeSelect)),
    h("div", { class: "card" }, countsBox, h("div", { class: "chart" }, canvas)),
    h("table", { "data-testid": "runs-table" },
      h("thead", {}, h("tr", {}, ["Name", "Flow", "State", "Started", "Duration", "Tags"]
        .map((c) => h("th", {}, c)))), body),
    more);

  let chart = null;
  let cursor = null;
  const rowsFor = (run, child = false) => {
    const toggle = run.subflows ? h("button", { class: "toggle", title: "Show subflows",
      "data-testid": "expand-subflows" }, `▸ ${run.subflows}`) : null;
    const row = h("tr", { class: child ? "child" : "", "data-run-id": run.id },
      h("td", {}, runLink(run), " ", toggle),
      h("td", {}, run.flow_name),
      h("td", {}, stateBadge(run.state_type, run.state_name)),
      h("td", {}, when(run.start_time || run.created)),
      h("td", {}, duration(run.duration)),
      h("td", {}, run.tags.join(", ")));
    if (toggle) {
      let open = null;
      toggle.addEventListener("click", async () => {
        if (open) { open.forEach((r) => r.remove()); open = null; return; }
        const children = await api(`/api/flow_runs${query({ parent: run.id, limit: 100 })}`);
        open = children.items.map((c) => rowsFor(c, true));
        row.after(...open);
      });
    }
    return row;
  };
  const loadPage = async (reset) => {
    const page = await api(`/api/flow_runs${query({ ...common(), roots: !filters.state && !filters.tag && !filters.flow,
                                                     cursor: reset ? null : cursor, limit: 50 })}`);
    if (reset) body.replaceChildren();
    body.append(...page.items.map((run) => rowsFor(run)));
    if (reset && !page.items.length) {
      body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" },
        filters.flow || filters.state || filters.tag
          ? "No flow run matches these filters." : "No flow runs recorded yet.")));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => loadPage(false));
  const loadSummary = async () => {
    const c = await api(`/api/flow_runs/counts${query(common())}`);
    countsBox.replaceChildren(h("div", { class: "muted" }, `${c.total} flow runs`), counts(c.states));
    const end = Date.now() / 1000;
    const span = seconds || 30 * 86400;
    const hist = await api(`/api/flow_runs/histogram${query({ flow: filters.flow, state: filters.state,
      tag: filters.tag, start: end - span, end, buckets: 48 })}`);
    const label = (t) => {
      const d = new Date(t * 1000);
      return span <= 86400 ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : d.toLocaleDateString([], { month: "short", day: "numeric" });
    };
    const labels = hist.buckets.map((_, i) => label(hist.start + i * hist.bucket_seconds));
    const types = Object.keys(STATE_COLORS).filter((t) => hist.buckets.some((b) => b[t]));
    const datasets = types.map((t) => ({ label: t.toLowerCase(), backgroundColor: STATE_COLORS[t],
                                         data: hist.buckets.map((b) => b[t] || 0) }));
    if (chart) { chart.data.labels = labels; chart.data.datasets = datasets; chart.update("none"); return; }
    await need("chart");
    if (chart) return;  // another refresh made it while the library loaded
    chart = new window.Chart(canvas, {
      type: "bar", data: { labels, datasets },
      options: { animation: false, maintainAspectRatio: false,
                 scales: { x: { stacked: true, ticks: { maxTicksLimit: 8 } },
                           y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
                 plugins: { legend: { position: "right" } } },
    });
  };
  // The change token is read before the data: a change made while the page loads is then
  // seen by the first poll, never lost between the two reads.
  let token = (await api("/api/changes")).token;
  await Promise.all([loadPage(true), loadSummary()]);
  const stop = poller(async () => {
    const now = (await api("/api/changes")).token;
    if (now === token) return;
    token = now;
    if (!cursor || body.children.length <= 50) await loadPage(true);
    await loadSummary();
  }, 1000);
  stopPage = () => { stop(); if (chart) chart.destroy(); };
}

// -- one flow run ---------------------------------------------------------------------------
async function flowRunPage(runId) {
  // The timeline's library and first bars load while the run is read (the API takes an id
  // prefix too); a failure is shown by the timeline, which awaits them.
  need("timeline").catch(() => {});
  const firstBars = api(`/api/flow_runs/${encodeURIComponent(runId)}/timeline${query({ limit: TIMELINE_BARS })}`);
  firstBars.catch(() => {});
  // One request before the header: the run (by id or a prefix) and its change token, read
  // before the run, so a change made while the page loads is seen by the first poll (a run
  // that finishes meanwhile would otherwise stay "Running" on the page).
  let run = await api(`/api/flow_runs/${encodeURIComponent(runId)}`);
  runId = run.id;
  let token = run.change_token;
  const header = h("div", { class: "card", "data-testid": "run-header" });
  const summaryBox = h("div", { "data-testid": "task-summary" });
  const panels = {};
  const tabBar = h("div", { class: "tabs" });
  const content = h("div");
  const widgets = [];
  const tabs = ["Timeline", "Graph", "Task runs", "Logs", "States", "Subflows"];
  let active = null;
  const show = (name) => {
    active = name;
    for (const b of tabBar.children) b.classList.toggle("active", b.dataset.tab === name);
    for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== name;
    panels[name].dispatchEvent(new Event("shown"));
  };
  for (const name of tabs) {
    panels[name] = h("section", { "data-panel": name, hidden: true });
    tabBar.append(h("button", { "data-tab": name, onclick: () => show(name) }, name));
    content.append(panels[name]);
  }
  main.replaceChildren(header, summaryBox, tabBar, content);

  const renderHeader = () => {
    const cancel = FINAL.has(run.state_type) ? null : h("button", {
      class: "danger", "data-testid": "cancel", disabled: run.cancel_requested,
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          const answer = await api(`/api/flow_runs/${runId}/cancel`, { method: "POST" });
          header.append(h("div", { class: "note", "data-testid": "cancel-note" }, answer.message));
        } catch (error) {
          header.append(h("div", { class: "error" }, error.message));
        }
      } }, run.cancel_requested ? "Cancelling…" : "Cancel");
    const resumable = !run.parent_flow_run_id && RESUMABLE.has(run.state_type);
    const resume = !resumable ? null : h("button", {
      "data-testid": "resume", title: "Run it again from where it stopped",
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          const answer = await api(`/api/flow_runs/${runId}/resume`, { method: "POST" });
          header.append(h("div", { class: "note", "data-testid": "resume-note" }, answer.message));
        } catch (error) {
          header.append(h("div", { class: "error", "data-testid": "resume-error" }, error.message));
        }
      } }, "Resume");
    header.replaceChildren(
      h("h1", {}, run.name, " ", stateBadge(run.state_type, run.state_name), " ", cancel, resume),
      h("dl", { class: "grid" },
        h("dt", {}, "Flow"), h("dd", {}, run.flow_name),
        h("dt", {}, "Id"), h("dd", { class: "mono" }, run.id),
        run.parent_flow_run_id && [h("dt", {}, "Parent"),
          h("dd", {}, h("a", { href: `/runs/${run.parent_flow_run_id}` }, shortId(run.parent_flow_run_id)))],
        h("dt", {}, "Started"), h("dd", {}, when(run.start_time)),
        h("dt", {}, "Duration"), h("dd", { "data-testid": "duration" }, duration(run.duration)),
        run.state_message && [h("dt", {}, "Message"), h("dd", {}, h("pre", {}, run.state_message))],
        h("dt", {}, "Parameters"), h("dd", {}, h("pre", { class: "mono" }, JSON.stringify(run.parameters, null, 1))),
        h("dt", {}, "Result"), h("dd", {}, h("pre", { class: "mono" }, run.result ?? "–")),
        run.tags.length > 0 && [h("dt", {}, "Tags"), h("dd", {}, run.tags.join(", "))]));
  };
  const renderSummary = async () => {
    const s = await api(`/api/flow_runs/${runId}/task_runs/summary`);
    summaryBox.replaceChildren(h("div", { class: "card" },
      h("strong", {}, `${s.total} task runs`), counts(s.states),
      h("table", { class: "tasks" }, h("thead", {}, h("tr", {}, ["Task", "Runs", "States", "Mean", "Longest"]
        .map((c) => h("th", {}, c)))),
        h("tbody", {}, s.tasks.slice(0, 50).map((g) => h("tr", {},
          h("td", {}, g.task_name), h("td", {}, g.total),
          h("td", {}, Object.entries(g.states).map(([t, n]) => `${t.toLowerCase()} ${n}`).join(", ")),
          h("td", {}, duration(g.mean_duration)), h("td", {}, duration(g.max_duration))))))));
    return s;
  };
  renderHeader();
  // Only the timeline loads now; every other tab fetches when first shown, and the sums over
  // every task run (the slowest read) are asked for once the first bars are in.
  const timeline = timelinePanel(panels.Timeline, runId, run, firstBars);
  // The first bars were read apart from the run: if something changed between the two
  // reads, the first poll reloads everything.
  timeline.firstBars.then((t) => { if (t.change_token !== token) token = ""; }, () => {});
  const summary = timeline.firstBars.then(renderSummary, renderSummary);
  widgets.push(timeline,
               lazy(panels.Logs, () => logsPanel(panels.Logs, runId)),
               lazy(panels.Graph, () => graphPanel(panels.Graph, runId)),
               lazy(panels["Task runs"], () => taskRunsPanel(panels["Task runs"], runId, summary)),
               lazy(panels.States, () => statesPanel(panels.States, runId)),
               lazy(panels.Subflows, () => subflowsPanel(panels.Subflows, runId)));
  show("Timeline");
  await summary;

  let finished = FINAL.has(run.state_type);
  const stop = poller(async () => {
    const now = (await api(`/api/changes?flow_run=${runId}`)).token;
    if (now === token) return;
    token = now;
    run = await api(`/api/flow_runs/${runId}`);
    renderHeader();
    await renderSummary();
    for (const w of widgets) await w.refresh(run);
    if (FINAL.has(run.state_type) && !finished) finished = true;
  });
  stopPage = () => { stop(); widgets.forEach((w) => w.destroy && w.destroy()); };
}

// A tab that fetches nothing until it is first shown; from then on it follows the run.
function lazy(panel, start) {
  let widget = null;
  panel.addEventListener("shown", () => {
    if (widget) return;
    widget = start();
    panel.dispatchEvent(new Event("shown"));  // the widget's own "shown" listeners missed this one
  });
  return {
    refresh: async (run) => { if (widget) await widget.refresh(run); },
    destroy: () => widget && widget.destroy && widget.destroy(),
  };
}

// The first bars drawn: enough to see the run's shape; zooming in fetches the bars of the
// window shown. (Drawing is what costs: 500 bars take vis-timeline about half a second.)
const TIMELINE_BARS = 200;

function timelinePanel(panel, runId, run, bars) {
  const note = h("div", { class: "note", "data-testid": "timeline-note" });
  const box = h("div", { id: "timeline", "data-testid": "timeline" });
  panel.append(note, box);
  const start = run.start_time || run.created;
  const end = run.end_time || Date.now() / 1000;
  let items = null;
  let timeline = null;
  let window_ = null;
  let loading = Promise.resolve();
  const load = async (from, to, fetched) => {
    const q = from ? query({ start: from, end: to, limit: TIMELINE_BARS })
      : query({ limit: TIMELINE_BARS });
    const t = await (fetched || api(`/api/flow_runs/${runId}/timeline${q}`));
    const now = Date.now() / 1000;
    items.clear();
    items.add(t.bars.map((b) => ({
      id: b.id, content: b.name, className: b.state_type || "PENDING",
      start: new Date(b.start_time * 1000), end: new Date((b.end_time || now) * 1000),
      title: `${b.name}: ${(b.state_name || "").toLowerCase()}, ${duration(b.duration)}`,
    })));
    note.textContent = t.truncated
      ? `Showing the first ${t.bars.length} of ${t.in_window} task runs in this window: zoom in to see the rest.`
      : `${t.in_window} task runs in this window. Scroll to zoom, drag to pan.`;
    note.dataset.bars = String(t.bars.length);
    window_ = from ? [from, to] : null;
  };
  const make = () => {
    items = new window.vis.DataSet();
    timeline = new window.vis.Timeline(box, items, {
      stack: true, showCurrentTime: false, zoomable: true, moveable: true, selectable: true,
      start: new Date(start * 1000), end: new Date((end + Math.max(0.001, (end - start) * 0.02)) * 1000),
      zoomMin: 1, orientation: "top", maxHeight: 460, margin: { item: { horizontal: 0, vertical: 2 } },
      tooltip: { followMouse: true },
    });
    let debounce = null;
    timeline.on("rangechanged", (props) => {
      if (!props.byUser) return;
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        loading = load(props.start.getTime() / 1000, props.end.getTime() / 1000);
      }, 150);
    });
    timeline.on("select", (props) => {
      if (props.items.length) {
        history.pushState(null, "", `/task-runs/${props.items[0]}`);
        route();
      }
    });
  };
  // `bars`: the first bars, asked for with the run (reported by `load`, which awaits them).
  const ready = need("timeline").then(() => { make(); loading = load(undefined, undefined, bars); });
  panel.addEventListener("shown", () => timeline && timeline.redraw());
  return {
    firstBars: bars,
    refresh: async () => { await ready; await loading; loading = load(...(window_ || [])); },
    destroy: () => ready.then(() => timeline.destroy()),
  };
}

function graphPanel(panel, runId) {
  const note = h("div", { class: "note", "data-testid": "graph-note" });
  const box = h("div", { id: "graph", "data-testid": "graph" });
  panel.append(note, box);
  let cy = null;
  let grouped = false;
  let drawnAt = 0;
  const draw = async () => {
    drawnAt = Date.now();
    const [g] = await Promise.all([api(`/api/flow_runs/${runId}/graph`), need("graph")]);
    grouped = g.grouped;
    note.textContent = g.grouped
      ? `${g.nodes.length} tasks (each node is every run of one task) and ${g.edges.length} links.`
      : `${g.nodes.length} runs and ${g.edges.length} links.`;
    const elements = [
      ...g.nodes.map((n) => ({ data: { id: n.id, label: n.label, kind: n.kind,
                                       color: STATE_COLORS[n.state_type] || STATE_COLORS.PENDING } })),
      ...g.edges.map((e) => ({ data: { id: `${e.source}->${e.target}`, source: e.source,
                                       target: e.target, label: e.count > 1 ? String(e.count) : "" } })),
    ];
    if (cy) cy.destroy();
    cy = window.cytoscape({
      container: box, elements, wheelSensitivity: 0.3,
      layout: { name: "dagre", rankDir: "LR", nodeSep: 12, rankSep: 60 },
      style: [
        { selector: "node", style: { label: "data(label)", "background-color": "data(color)",
          "font-size": 10, "text-valign": "bottom", "text-margin-y": 3, width: 14, height: 14 } },
        { selector: "node[kind = 'flow_run']", style: { shape: "round-rectangle", width: 22 } },
        { selector: "edge", style: { width: 1, "line-color": "#b8c0ca", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "target-arrow-color": "#b8c0ca", label: "data(label)",
          "font-size": 9 } },
      ],
    });
    cy.on("tap", "node", (event) => {
      const node = event.target.data();
      if (node.kind === "task_run") { history.pushState(null, "", `/task-runs/${node.id}`); route(); }
      if (node.kind === "flow_run" && !node.id.startsWith("flow:")) {
        history.pushState(null, "", `/runs/${node.id}`); route();
      }
    });
  };
  let drawn = false;
  panel.addEventListener("shown", () => { if (!drawn) { drawn = true; draw(); } else if (cy) cy.resize(); });
  // A grouped graph (a big run: the server adds up every dependency of the run) follows a
  // running run at most every few seconds, not on every change; the last change is always
  // drawn (late, if it came early).
  let later = null;
  const refresh = async (run) => {
    if (!drawn || panel.hidden) return;
    const wait = GROUPED_GRAPH_MS - (Date.now() - drawnAt);
    if (!grouped || wait <= 0 || FINAL.has(run && run.state_type)) {
      clearTimeout(later);
      later = null;
      await draw();
    } else if (!later) {
      later = setTimeout(() => { later = null; if (!panel.hidden) draw(); }, wait);
    }
  };
  return { refresh, destroy: () => { clearTimeout(later); if (cy) cy.destroy(); } };
}
const GROUPED_GRAPH_MS = 5000;

function logsPanel(panel, runId) {
  const level = h("select", { "data-testid": "log-level" },
    [["0", "all levels"], ["10", "debug+"], ["20", "info+"], ["30", "warning+"], ["40", "error+"]]
      .map(([v, t]) => h("option", { value: v }, t)));
  const taskInput = h("input", { placeholder: "task run id", "data-testid": "log-task-run", size: 38 });
  const older = h("button", { "data-testid": "older-logs", hidden: true }, "Older lines");
  const box = h("div", { class: "logs", "data-testid": "logs" });
  panel.append(h("div", { class: "filters" }, h("label", {}, "Level", level),
                  h("label", {}, "Task run", taskInput), older), box);
  let lastId = 0;
  let firstId = null;
  const filters = () => ({ min_level: level.value, task_run: taskInput.value.trim() || undefined });
  const line = (l) => h("div", { class: `line ${l.level_name}`, "data-log-id": l.id },
    `${new Date(l.timestamp * 1000).toLocaleTimeString()} ${l.level_name.padEnd(8)} `,
    l.task_run_name ? h("a", { href: `/task-runs/${l.task_run_id}` }, l.task_run_name) : "flow",
    ` | ${l.message}`);
  const reset = async () => {
    // The newest page, shown oldest first; older pages on demand.
    const page = await api(`/api/flow_runs/${runId}/logs${query({ ...filters(), newest_first: true, limit: 200 })}`);
    const lines = page.items.reverse();
    box.replaceChildren(...lines.map(line));
    if (!lines.length) box.append(h("div", { class: "line muted" }, "No log lines (for these filters)."));
    lastId = page.last_id;
    firstId = lines.length ? lines[0].id : null;
    older.hidden = lines.length < 200;
    box.scrollTop = box.scrollHeight;
  };
  older.addEventListener("click", async () => {
    const page = await api(`/api/flow_runs/${runId}/logs${query({ ...filters(), newest_first: true,
                                                                  before_id: firstId, limit: 200 })}`);
    const lines = page.items.reverse();
    box.prepend(...lines.map(line));
    if (lines.length) firstId = lines[0].id;
    older.hidden = lines.length < 200;
    while (box.children.length > MAX_LOG_LINES) box.lastChild.remove();
  });
  const tail = async () => {
    const page = await api(`/api/flow_runs/${runId}/logs${query({ ...filters(), after_id: lastId, limit: 500 })}`);
    if (!page.items.length) return;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
    if (box.querySelector(".muted")) box.replaceChildren();
    box.append(...page.items.map(line));
    lastId = page.last_id;
    while (box.children.length > MAX_LOG_LINES) box.firstChild.remove();
    if (atBottom) box.scrollTop = box.scrollHeight;
  };
  level.addEventListener("change", reset);
  taskInput.addEventListener("change", reset);
  const ready = reset();
  return { refresh: async () => { await ready; await tail(); } };
}

function pagedTable(panel, columns, fetchPage, rowOf, testid) {
  const body = h("tbody", { "data-testid": testid });
  const more = h("button", { hidden: true }, "Load more");
  panel.append(h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))), body), more);
  let cursor = null;
  const load = async (reset) => {
    const page = await fetchPage(reset ? null : cursor);
    if (reset) body.replaceChildren();
    body.append(...page.items.map(rowOf));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load(false));
  return load;
}

function taskRunsPanel(panel, runId, summary) {
  const state = h("select", {}, h("option", { value: "" }, "any state"),
    Object.keys(STATE_COLORS).map((s) => h("option", { value: s }, s.toLowerCase())));
  const task = h("select", {}, h("option", { value: "" }, "any task"));
  summary.then((s) => task.append(...s.tasks.map((g) => h("option", { value: g.task_key }, g.task_name))));
  panel.append(h("div", { class: "filters" }, h("label", {}, "State", state), h("label", {}, "Task", task)));
  const load = pagedTable(panel, ["Name", "Task", "State", "Started", "Duration", "Attempts"],
    (cursor) => api(`/api/flow_runs/${runId}/task_runs${query({ state: state.value, task_key: task.value,
                                                                 cursor, limit: 100 })}`),
    (t) => h("tr", {}, h("td", {}, h("a", { href: `/task-runs/${t.id}` }, t.name)), h("td", {}, t.task_name),
             h("td", {}, stateBadge(t.state_type, t.state_name)), h("td", {}, when(t.start_time)),
             h("td", {}, duration(t.duration)), h("td", {}, t.run_count)), "task-runs-body");
  state.addEventListener("change", () => load(true));
  task.addEventListener("change", () => load(true));
  let shown = false;
  panel.addEventListener("shown", () => { if (!shown) { shown = true; load(true); } });
  return { refresh: async () => { if (shown && !panel.hidden) await load(true); } };
}

function statesTable(states) {
  return h("table", { "data-testid": "states" }, h("thead", {}, h("tr", {},
    ["Time", "State", "Attempt", "Message"].map((c) => h("th", {}, c)))),
    h("tbody", {}, states.map((s) => h("tr", {}, h("td", {}, when(s.timestamp)),
      h("td", {}, stateBadge(s.type, s.name)), h("td", {}, s.run_count),
      h("td", {}, h("pre", {}, s.message || ""))))));
}

function statesPanel(panel, runId) {
  const draw = async () => panel.replaceChildren(statesTable(await api(`/api/flow_runs/${runId}/states`)));
  draw();
  return { refresh: draw };
}

function subflowsPanel(panel, runId) {
  const draw = async () => {
    const runs = await api(`/api/flow_runs/${runId}/subflows`);
    panel.replaceChildren(runs.length ? h("table", {}, h("tbody", {}, runs.map((r) => h("tr", {},
      h("td", {}, runLink(r)), h("td", {}, r.flow_name), h("td", {}, stateBadge(r.state_type, r.state_name)),
      h("td", {}, duration(r.duration)))))) : h("p", { class: "muted" }, "No subflow runs."));
  };
  draw();
  return { refresh: draw };
}

// -- one task run ---------------------------------------------------------------------------
async function taskRunPage(taskRunId) {
  const t = await api(`/api/task_runs/${encodeURIComponent(taskRunId)}`);
  const [states, logs] = await Promise.all([
    api(`/api/task_runs/${t.id}/states`), api(`/api/task_runs/${t.id}/logs?limit=500`)]);
  main.replaceChildren(
    h("div", { class: "card", "data-testid": "task-run-header" },
      h("h1", {}, t.name, " ", stateBadge(t.state_type, t.state_name)),
      h("dl", { class: "grid" },
        h("dt", {}, "Task"), h("dd", {}, `${t.task_name} (${t.task_key})`),
        h("dt", {}, "Flow run"), h("dd", {}, t.flow_run_id ? h("a", { href: `/runs/${t.flow_run_id}` }, shortId(t.flow_run_id)) : "–"),
        h("dt", {}, "Id"), h("dd", { class: "mono" }, t.id),
        h("dt", {}, "Duration"), h("dd", {}, duration(t.duration)),
        h("dt", {}, "Attempts"), h("dd", { "data-testid": "attempts" }, t.run_count),
        h("dt", {}, "Inputs"), h("dd", {}, h("pre", { class: "mono" }, JSON.stringify(t.parameters, null, 1))),
        h("dt", {}, "Result"), h("dd", {}, h("pre", { class: "mono" }, t.result ?? "–")),
        h("dt", {}, "Cache key"), h("dd", {}, t.cache_key ?? "not recorded"),
        t.state_message && [h("dt", {}, "Message"), h("dd", {}, h("pre", {}, t.state_message))])),
    h("h2", {}, "States"), statesTable(states),
    h("h2", {}, "Logs"),
    h("div", { class: "logs", "data-testid": "logs" }, logs.items.length
      ? logs.items.map((l) => h("div", { class: `line ${l.level_name}` },
          `${new Date(l.timestamp * 1000).toLocaleTimeString()} ${l.level_name.padEnd(8)} | ${l.message}`))
      : h("div", { class: "line" }, "No log lines.")));
}

// -- assets ---------------------------------------------------------------------------------
async function assetsPage() {
  const assets = await api("/api/assets");
  main.replaceChildren(h("h1", {}, "Assets"), assets.length ? h("table", { "data-testid": "assets" },
    h("thead", {}, h("tr", {}, ["Key", "Name", "Latest", "When", "Materializations"].map((c) => h("th", {}, c)))),
    h("tbody", {}, assets.map((a) => h("tr", {},
      h("td", {}, h("a", { href: `/assets/view${query({ key: a.key })}` }, a.key)),
      h("td", {}, a.properties.name || ""), h("td", {}, a.latest_status || "referenced only"),
      h("td", {}, when(a.latest_time)), h("td", {}, a.materializations)))))
    : h("p", { class: "muted" }, "No assets recorded yet: run a flow with a @materialize task."));
}

async function assetPage(key) {
  const [detail, lineage] = await Promise.all([
    api(`/api/assets/detail${query({ key })}`), api(`/api/assets/lineage${query({ key, depth: 3 })}`)]);
  const box = h("div", { id: "lineage", "data-testid": "lineage" });
  main.replaceChildren(
    h("h1", {}, detail.asset.key),
    h("p", { class: "muted" }, `${detail.asset.materializations} materializations; upstream: `,
      lineage.upstream.join(", ") || "none", "; downstream: ", lineage.downstream.join(", ") || "none"),
    h("h2", {}, "Lineage"), box,
    h("h2", {}, "Materializations"),
    h("table", { "data-testid": "materializations" }, h("tbody", {}, detail.materializations.map((m) => h("tr", {},
      h("td", {}, when(m.timestamp)), h("td", {}, m.status),
      h("td", {}, m.flow_run_id ? h("a", { href: `/runs/${m.flow_run_id}` }, shortId(m.flow_run_id)) : "–"),
      h("td", {}, m.upstream.join(", ")), h("td", { class: "mono" }, JSON.stringify(m.metadata)))))));
  const keys = new Set([key, ...lineage.upstream, ...lineage.downstream]);
  await need("graph");
  const cy = window.cytoscape({
    container: box,
    elements: [...[...keys].map((k) => ({ data: { id: k, label: k, me: k === key ? 1 : 0 } })),
               ...lineage.edges.map(([up, down]) => ({ data: { id: `${up}->${down}`, source: up, target: down } }))],
    layout: { name: "dagre", rankDir: "LR", rankSep: 80 },
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "#8c959f",
                                   "text-valign": "bottom", width: 14, height: 14 } },
      { selector: "node[me = 1]", style: { "background-color": "#1f6feb", width: 20, height: 20 } },
      { selector: "edge", style: { width: 1, "curve-style": "bezier", "target-arrow-shape": "triangle",
                                   "line-color": "#b8c0ca", "target-arrow-color": "#b8c0ca" } },
    ],
  });
  cy.on("tap", "node", (event) => {
    history.pushState(null, "", `/assets/view${query({ key: event.target.id() })}`);
    route();
  });
  stopPage = () => cy.destroy();
}

window.addEventListener("DOMContentLoaded", () => route());
