// The woodwork dashboard: plain JS, no framework, no CDN. Everything comes from the JSON API of the
// server that serves this file; with --auth-token, every request carries the token from
// sessionStorage in an Authorization header (SSE is read through fetch streaming, since
// EventSource cannot send headers). Text from the server is only ever set as textContent.
"use strict";

const POLL_MS = 2000;
const MAX_EVENTS = 300; // rows kept in the live feed
const MAX_TRACE = 100; // rows kept in the trace of one input
const MAX_SSE_BUFFER = 4 << 20; // an SSE frame larger than this ends the stream
const TOKEN_KEY = "woodwork-token";
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);

// ---- auth -------------------------------------------------------------------------------------

let token = sessionStorage.getItem(TOKEN_KEY) || "";

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

function askToken(message) {
  $("token-error").hidden = !message;
  $("token-error").textContent = message || "";
  $("token-dialog").hidden = false;
  $("token-input").focus();
}

function saveToken() {
  token = $("token-input").value.trim();
  $("token-input").value = "";
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  $("token-dialog").hidden = true;
  refreshAll();
  events.restart();
}

/** fetch with the token; a 401 opens the token dialog and throws. */
async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  opts.cache = "no-store";
  const res = await fetch(path, opts);
  if (res.status === 401) {
    askToken(token ? "The server refused this token." : "");
    throw new Error("unauthorized");
  }
  return res;
}

async function getJson(path) {
  const res = await api(path);
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}

/** The message of a JSON error answer ({error: {code, message}}), or the status line. */
async function errorText(res) {
  try {
    const body = await res.json();
    if (body && body.error) return body.error.code + ": " + body.error.message;
  } catch (_) { /* not JSON */ }
  return "HTTP " + res.status;
}

// ---- small DOM helpers ------------------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

function ago(unixSeconds) {
  const s = Math.max(0, Date.now() / 1000 - unixSeconds);
  if (s < 60) return Math.floor(s) + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  return Math.floor(s / 3600) + " h ago";
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

// ---- the graph --------------------------------------------------------------------------------

const NODE_W = 190;
const NODE_H = 74;
const COL_GAP = 80;
const ROW_GAP = 22;
const PAD = 16;
const LANE = 8; // spacing of the lanes long routes take above the nodes
const nodes = new Map(); // name -> {g, state, detail, stripe}

/**
 * Layered layout. Components on routes form the main band: a component's column is the length of
 * the longest route path to it (bounded, so a cycle cannot loop); inside a column, by the mean
 * row of their predecessors, then start order. Components off the routes (models, tools,
 * memories) sit in a band below, under the column of their first user, so the dashed "uses"
 * edges do not cross the pipeline.
 */
function layout(graph) {
  const names = graph.components.map((c) => c.name);
  const order = new Map((graph.start_order || names).map((n, i) => [n, i]));
  const col = new Map(names.map((n) => [n, 0]));
  const routes = (graph.routes || []).filter((r) => col.has(r.from) && col.has(r.to));
  const uses = (graph.uses || []).filter((u) => col.has(u.from) && col.has(u.to));
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const r of routes) {
      const want = col.get(r.from) + 1;
      if (want > col.get(r.to) && want < names.length) {
        col.set(r.to, want);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const routed = new Set(routes.flatMap((r) => [r.from, r.to]));
  const main = routed.size ? names.filter((n) => routed.has(n)) : names;
  const side = routed.size ? names.filter((n) => !routed.has(n)) : [];
  for (const n of side) {
    const users = uses.filter((u) => u.to === n && routed.has(u.from)).map((u) => col.get(u.from));
    col.set(n, users.length ? Math.min(...users) : 0);
  }
  const row = new Map();
  const preds = new Map(names.map((n) => [n, []]));
  for (const e of routes.concat(uses)) preds.get(e.to).push(e.from);
  const band = (members) => {
    const columns = [];
    for (const n of members) (columns[col.get(n)] = columns[col.get(n)] || []).push(n);
    columns.forEach((ms) => {
      const key = (n) => {
        const placed = preds.get(n).filter((p) => row.has(p)).map((p) => row.get(p));
        return placed.length ? placed.reduce((a, b) => a + b, 0) / placed.length : Infinity;
      };
      ms.sort((a, b) => {
        const ka = key(a), kb = key(b);
        return ka === kb ? (order.get(a) || 0) - (order.get(b) || 0) : (ka < kb ? -1 : 1);
      });
      ms.forEach((n, i) => row.set(n, i));
    });
    return columns;
  };
  const mainCols = band(main);
  const sideCols = band(side);
  const rowsOf = (cols) => Math.max(0, ...cols.filter(Boolean).map((m) => m.length));
  const mainRows = Math.max(1, rowsOf(mainCols));
  const sideRows = rowsOf(sideCols);
  const step = NODE_H + ROW_GAP;
  // Routes that skip a column run in lanes above the nodes instead of behind the ones between.
  const long = routes.filter((r) => col.get(r.to) - col.get(r.from) > 1);
  const lanes = new Map(long.map((r, i) => [r, PAD + i * LANE]));
  const top = PAD + (long.length ? long.length * LANE + 10 : 0);
  const sideTop = top + mainRows * step + (sideRows ? ROW_GAP : 0);
  const pos = new Map();
  mainCols.forEach((members, c) => {
    const offset = ((mainRows - members.length) * step) / 2;
    members.forEach((n, i) => pos.set(n, { x: PAD + c * (NODE_W + COL_GAP), y: top + offset + i * step }));
  });
  sideCols.forEach((members, c) => {
    members.forEach((n, i) => pos.set(n, { x: PAD + c * (NODE_W + COL_GAP), y: sideTop + i * step }));
  });
  const ncols = Math.max(mainCols.length, sideCols.length, 1);
  const width = PAD * 2 + ncols * NODE_W + (ncols - 1) * COL_GAP;
  const height = sideRows ? sideTop + sideRows * step - ROW_GAP + PAD : top + mainRows * step - ROW_GAP + PAD;
  return { pos, routes, uses, lanes, width, height };
}

/** A route: from the right side of `a` to the left of `b` (under both when it goes back). */
function edgePath(a, b) {
  if (b.x > a.x) {
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x - 4, y2 = b.y + NODE_H / 2;
    const dx = (x2 - x1) / 2;
    return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
  }
  if (b.x === a.x) {
    // same column: a curve out to the right side
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x + NODE_W + 4, y2 = b.y + NODE_H / 2;
    const bulge = Math.min(COL_GAP - 10, 30 + Math.abs(y2 - y1) / 6);
    return `M${x1},${y1} C${x1 + bulge},${y1} ${x2 + bulge},${y2} ${x2},${y2}`;
  }
  const x1 = a.x + NODE_W / 2, y1 = a.y + NODE_H, x2 = b.x + NODE_W / 2, y2 = b.y + NODE_H + 4;
  const low = Math.max(y1, y2) + 40;
  return `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
}

/** A route that skips columns: out into the gap after `a`, along lane `y`, down the gap before `b`. */
function lanePath(a, b, y) {
  const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x - 4, y2 = b.y + NODE_H / 2;
  const g1 = x1 + COL_GAP / 2, g2 = b.x - COL_GAP / 2;
  return `M${x1},${y1} C${g1},${y1} ${g1 - 12},${y} ${g1 + 12},${y} L${g2 - 12},${y} ` +
    `C${g2 + 12},${y} ${g2},${y2} ${x2},${y2}`;
}

/** A use (agent → model or tool): down from `a` into the top of `b` in the band below. */
function usePath(a, b) {
  if (b.y <= a.y) return edgePath(a, b);
  const x1 = a.x + NODE_W / 2 + (b.x > a.x ? 30 : b.x < a.x ? -30 : 0), y1 = a.y + NODE_H;
  const x2 = b.x + NODE_W / 2, y2 = b.y - 4;
  const dy = (y2 - y1) / 2;
  return `M${x1},${y1} C${x1},${y1 + dy} ${x2},${y2 - dy} ${x2},${y2}`;
}

function drawGraph(graph) {
  const box = $("graph-box");
  box.textContent = "";
  nodes.clear();
  if (!graph.components.length) {
    box.appendChild(el("p", "dim", "no components"));
    return;
  }
  const { pos, routes, uses, lanes, width, height } = layout(graph);
  const below = routes.some((r) => pos.get(r.to).x < pos.get(r.from).x) ? 48 : 0;
  const root = svg("svg", {
    id: "graph", viewBox: `0 0 ${width} ${height + below}`, width, height: height + below,
    role: "img", "aria-label": "component graph",
  });
  const defs = svg("defs");
  for (const [id, cls] of [["arrow", "arrow"], ["arrow-use", "arrow use"]]) {
    const m = svg("marker", {
      id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
      orient: "auto-start-reverse",
    });
    m.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: cls }));
    defs.appendChild(m);
  }
  root.appendChild(defs);
  const edges = svg("g", { class: "edges" });
  for (const r of routes) {
    const p = svg("path", {
      d: lanes.has(r) ? lanePath(pos.get(r.from), pos.get(r.to), lanes.get(r))
        : edgePath(pos.get(r.from), pos.get(r.to)),
      class: "edge" + (r.inferred ? " inferred" : ""), "marker-end": "url(#arrow)",
    });
    p.appendChild(svg("title", {}, `${r.from} → ${r.to}${r.inferred ? " (inferred)" : ""}`));
    edges.appendChild(p);
  }
  for (const u of uses) {
    const p = svg("path", {
      d: usePath(pos.get(u.from), pos.get(u.to)), class: "edge use", "marker-end": "url(#arrow-use)",
    });
    p.appendChild(svg("title", {}, `${u.from} uses ${u.to}`));
    edges.appendChild(p);
  }
  root.appendChild(edges);
  for (const c of graph.components) {
    const { x, y } = pos.get(c.name);
    const g = svg("g", { class: "node", transform: `translate(${x},${y})`, "data-name": c.name });
    g.appendChild(svg("title", {}, `${c.name}: ${c.kind} ${c.type} (line ${c.line})`));
    g.appendChild(svg("rect", { class: "box", width: NODE_W, height: NODE_H, rx: 8 }));
    const stripe = svg("rect", { class: "stripe", width: 6, height: NODE_H, rx: 3 });
    g.appendChild(stripe);
    g.appendChild(svg("text", { class: "name", x: 16, y: 20 }, clip(c.name, 22)));
    g.appendChild(svg("text", { class: "kind", x: 16, y: 36 }, clip(`${c.kind} ${c.type}`, 26)));
    const state = svg("text", { class: "state", x: 16, y: 52 }, "…");
    const detail = svg("text", { class: "detail", x: 16, y: 67 }, "");
    g.appendChild(state);
    g.appendChild(detail);
    root.appendChild(g);
    nodes.set(c.name, { g, state, detail, stripe });
  }
  box.appendChild(root);
}

function paintNode(c) {
  const n = nodes.get(c.name);
  if (!n) return;
  const bad = c.state === "failed" || c.state === "unavailable" || c.breaker === "open";
  const warn = c.breaker === "half_open" || c.state === "initializing" || c.restarts > 0;
  n.g.setAttribute("class", `node st-${c.state} br-${c.breaker}` + (bad ? " bad" : warn ? " warn" : ""));
  n.state.textContent = `${c.state} · breaker ${c.breaker.replace("_", "-")}`;
  n.detail.textContent = `mb ${c.mailbox_depth} · ${fmtMs(c.latency_ms)} · ↻${c.restarts}`;
}

// ---- polling: components, health, sessions -----------------------------------------------------

function cell(text, cls) {
  return el("td", cls, text);
}

function renderComponents(list) {
  const body = $("components").tBodies[0];
  body.textContent = "";
  for (const c of list) {
    const tr = el("tr");
    tr.dataset.name = c.name;
    const name = cell("", "name");
    name.appendChild(el("strong", null, c.name));
    name.appendChild(el("span", "dim small", ` ${c.kind} ${c.type}`));
    if (c.last_failure) name.title = "last failure: " + c.last_failure;
    tr.appendChild(name);
    const state = cell("");
    state.appendChild(el("span", `badge st-${c.state}`, c.state));
    tr.appendChild(state);
    const breaker = cell("");
    breaker.appendChild(el("span", `badge br-${c.breaker}`, c.breaker.replace("_", "-")));
    tr.appendChild(breaker);
    tr.appendChild(cell(c.restarts, "num"));
    tr.appendChild(cell(c.mailbox_depth, "num"));
    tr.appendChild(cell(fmtMs(c.latency_ms), "num"));
    tr.appendChild(cell(c.processed, "num"));
    tr.appendChild(cell(c.failed, "num" + (c.failed ? " bad" : "")));
    body.appendChild(tr);
    paintNode(c);
  }
}

function fillTargets(list) {
  const select = $("target");
  const chosen = select.value;
  select.textContent = "";
  // inputs first (a pipeline's entry), then agents, then the rest
  const rank = { input: 0, agent: 1 };
  const sorted = list.slice().sort((a, b) => (rank[a.kind] ?? 2) - (rank[b.kind] ?? 2));
  for (const c of sorted) {
    if (c.kind === "vm") continue;
    const o = el("option", null, `${c.name} (${c.kind})`);
    o.value = c.name;
    select.appendChild(o);
  }
  if (list.some((c) => c.name === chosen)) select.value = chosen;
}

function renderHealth(h) {
  const pill = $("health");
  pill.textContent = h.status;
  pill.className = "pill " + h.status;
  $("uptime").textContent = "up " + formatUptime(h.uptime_s);
  const b = h.bus || {};
  $("bus").textContent = `bus: ${b.delivered ?? 0} delivered · ${b.dlq_len ?? 0} dead letters`;
}

function formatUptime(s) {
  if (s < 120) return s + " s";
  if (s < 7200) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h";
}

function renderSessions(page) {
  $("session-count").textContent = page.total > page.sessions.length
    ? `(${page.sessions.length} most recent of ${page.total})` : `(${page.total})`;
  const body = $("sessions").tBodies[0];
  body.textContent = "";
  if (!page.sessions.length) {
    const tr = el("tr");
    const td = cell("no live sessions", "dim");
    td.colSpan = 4;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  for (const s of page.sessions) {
    const tr = el("tr");
    tr.dataset.session = s.id;
    const id = cell("", "mono");
    const pick = el("button", "link", clip(s.id, 40));
    pick.type = "button";
    pick.title = "continue this session";
    pick.addEventListener("click", () => { $("session").value = s.id; });
    id.appendChild(pick);
    tr.appendChild(id);
    tr.appendChild(cell(s.turns, "num"));
    const st = cell("");
    st.appendChild(el("span", "badge " + (s.busy ? "st-active" : "st-ready"),
      s.busy ? (s.queued ? `busy +${s.queued}` : "busy") : "idle"));
    tr.appendChild(st);
    tr.appendChild(cell(ago(s.last_active), "dim"));
    body.appendChild(tr);
  }
}

let polling = false;
async function refreshAll() {
  if (polling) return;
  polling = true;
  try {
    const [components, health, sessions] = await Promise.all([
      getJson("/components"), api("/health").then((r) => r.json()), getJson("/sessions?limit=20"),
    ]);
    await syncGraph(components);
    renderComponents(components);
    renderHealth(health);
    renderSessions(sessions);
  } catch (e) {
    if (e.message !== "unauthorized") $("health").textContent = "unreachable";
  } finally {
    polling = false;
  }
}

let graphDoc = null; // GET /graph: the file as served at start (inferred flags, uses, lines)
let drawn = ""; // the topology the graph shows now

/**
 * Draws the graph when the live topology changed: components and routes from /components (so a
 * `serve --watch` reload shows at once), inferred flags, tool/model uses and source lines from
 * /graph (the CLI's graph document, fetched once).
 */
async function syncGraph(components) {
  if (!graphDoc) {
    try {
      graphDoc = await getJson("/graph");
    } catch (e) {
      if (e.message === "unauthorized") throw e;
      // Still drawn from /components, without the uses and inferred marks only /graph has.
      graphDoc = { components: [], routes: [], uses: [] };
    }
  }
  const names = new Set(components.map((c) => c.name));
  const inferred = new Map((graphDoc.routes || []).map((r) => [r.from + "\u0000" + r.to, r.inferred]));
  const line = new Map((graphDoc.components || []).map((c) => [c.name, c.line]));
  const graph = {
    components: components.map((c) => ({ name: c.name, kind: c.kind, type: c.type, line: line.get(c.name) ?? "?" })),
    routes: components.flatMap((c) => c.routes_to.map((to) => ({
      from: c.name, to, inferred: Boolean(inferred.get(c.name + "\u0000" + to)),
    }))),
    uses: (graphDoc.uses || []).filter((u) => names.has(u.from) && names.has(u.to)),
    start_order: components.map((c) => c.name),
  };
  const topology = JSON.stringify([graph.components.map((c) => [c.name, c.kind, c.type]), graph.routes]);
  if (topology === drawn) return;
  drawn = topology;
  drawGraph(graph);
  fillTargets(components);
}

// ---- SSE over fetch ---------------------------------------------------------------------------

/** Reads a text/event-stream body, calling onEvent({id, event, data}) per frame. */
async function readSse(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const frame = { id: null, event: "message", data: "" };
      let hasData = false;
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        let v = i < 0 ? "" : line.slice(i + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "event") frame.event = v;
        else if (field === "id") frame.id = v;
        else if (field === "data") { frame.data += (hasData ? "\n" : "") + v; hasData = true; }
      }
      if (!hasData) continue;
      try { frame.data = JSON.parse(frame.data); } catch (_) { /* keep the text */ }
      onEvent(frame);
    }
    if (buf.length > MAX_SSE_BUFFER) {
      await reader.cancel();
      throw new Error("an event larger than " + MAX_SSE_BUFFER + " bytes");
    }
  }
}

// ---- the live event feed (/events) ------------------------------------------------------------

function describe(data) {
  if (data === null || typeof data !== "object") return String(data);
  const p = data.payload;
  if (p && typeof p === "object") {
    for (const k of ["chunk", "response", "output", "input", "thought", "error", "message", "to"]) {
      if (typeof p[k] === "string") return p[k];
    }
    return JSON.stringify(p);
  }
  return JSON.stringify(p === undefined ? data : p);
}

function eventRow(type, data) {
  const li = el("li");
  const when = data && data.timestamp ? new Date(data.timestamp * 1000) : new Date();
  li.appendChild(el("span", "time mono", when.toLocaleTimeString()));
  li.appendChild(el("span", "type " + type.split(".")[0], type));
  const who = data && (data.component || data.sender);
  li.appendChild(el("span", "who", who || ""));
  li.appendChild(el("span", "text", clip(describe(data), 240)));
  const sid = data && data.session_id;
  if (sid) li.title = "session " + sid;
  li.dataset.filter = [type, who || "", sid || ""].join(" ").toLowerCase();
  return li;
}

function applyFilter(li) {
  const f = $("event-filter").value.trim().toLowerCase();
  li.hidden = Boolean(f) && !li.dataset.filter.includes(f);
}

const events = {
  controller: null,
  lastId: null,
  retryMs: 1000,
  timer: null,
  count: 0,

  state(text, cls) {
    const s = $("feed-state");
    s.textContent = "events: " + text;
    s.className = "pill " + cls;
  },

  add(frame) {
    const list = $("events");
    if (frame.id) this.lastId = frame.id;
    const li = eventRow(frame.event, frame.data);
    applyFilter(li);
    list.insertBefore(li, list.firstChild);
    while (list.childElementCount > MAX_EVENTS) list.lastElementChild.remove();
    this.count++;
  },

  restart() {
    if (this.controller) this.controller.abort();
    clearTimeout(this.timer);
    this.retryMs = 1000;
    this.connect();
  },

  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    const h = { Accept: "text/event-stream" };
    if (this.lastId) h["Last-Event-ID"] = this.lastId;
    let retry = true;
    try {
      const res = await api("/events", { headers: h, signal: controller.signal });
      if (res.status === 404) {
        this.state("not served", "off");
        this.retryMs = 30000;
      } else if (!res.ok) {
        this.state(await errorText(res), "bad");
      } else {
        this.state("live", "healthy");
        this.retryMs = 1000;
        await readSse(res, (f) => this.add(f));
        this.state("reconnecting", "degraded");
      }
    } catch (e) {
      if (controller.signal.aborted) retry = false;
      else if (e.message === "unauthorized") { this.state("needs token", "bad"); retry = false; }
      else this.state("reconnecting", "degraded");
    }
    if (retry && this.controller === controller) {
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 30000);
    }
  },
};

// ---- sending input ----------------------------------------------------------------------------

let sending = null;

function traceRow(type, data) {
  const list = $("trace");
  list.appendChild(eventRow(type, data));
  while (list.childElementCount > MAX_TRACE) list.firstElementChild.remove();
}

async function send() {
  const target = $("target").value;
  const text = $("input").value;
  if (!target || !text.trim() || sending) return;
  const answer = $("answer");
  answer.textContent = "";
  answer.className = "answer streaming";
  $("trace").textContent = "";
  const body = { input: text };
  const sid = $("session").value.trim();
  if (sid) body.session_id = sid;
  const controller = new AbortController();
  sending = controller;
  $("send").disabled = true;
  $("stop").disabled = false;
  const started = performance.now();
  let chunks = 0;
  const status = (t) => { $("send-state").textContent = t; };
  status("sending…");
  try {
    const res = await api(`/${encodeURIComponent(target)}/input?stream=true`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    await readSse(res, (f) => {
      const d = f.data;
      if (f.event === "stream.chunk") {
        const chunk = d && d.payload && d.payload.chunk;
        if (typeof chunk === "string") answer.textContent += chunk;
        chunks++;
        status(`streaming… ${chunks} chunks`);
      } else if (f.event === "done") {
        if (d && d.error) {
          answer.className = "answer failed";
          answer.textContent = d.error.code + ": " + d.error.message;
        } else {
          answer.className = "answer done";
          if (d && typeof d.output === "string") answer.textContent = d.output;
          else if (d && d.output !== undefined) answer.textContent = JSON.stringify(d.output, null, 2);
          if (d && d.session_id) $("session").value = d.session_id;
        }
      } else if (f.event !== "error") {
        traceRow(f.event, d);
      }
    });
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    status(answer.classList.contains("failed") ? `failed after ${secs} s` : `done in ${secs} s · ${chunks} chunks`);
  } catch (e) {
    answer.className = "answer failed";
    if (controller.signal.aborted) status("stopped");
    else {
      answer.textContent = e.message;
      status("failed");
    }
  } finally {
    sending = null;
    $("send").disabled = false;
    $("stop").disabled = true;
    refreshAll();
  }
}

// ---- start ------------------------------------------------------------------------------------

function start() {
  $("token-button").addEventListener("click", () => askToken(""));
  $("token-save").addEventListener("click", saveToken);
  $("token-clear").addEventListener("click", () => { $("token-input").value = ""; saveToken(); });
  $("token-input").addEventListener("keydown", (e) => { if (e.key === "Enter") saveToken(); });
  $("send").addEventListener("click", send);
  $("stop").addEventListener("click", () => { if (sending) sending.abort(); });
  $("new-session").addEventListener("click", () => { $("session").value = ""; });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send();
  });
  $("event-filter").addEventListener("input", () => {
    for (const li of $("events").children) applyFilter(li);
  });
  $("event-clear").addEventListener("click", () => { $("events").textContent = ""; });
  refreshAll();
  setInterval(refreshAll, POLL_MS);
  events.connect();
}

start();
