#include "api/status_page.h"

namespace custos::api {

namespace {

constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>custos</title>
<style>
  :root { --fg: #1d2430; --muted: #5d6878; --line: #d9dee6; --bg: #f6f8fa; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --lead: #0969da; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0; font-size: 20px; }
  header .facts span { margin-right: 18px; color: var(--muted); }
  header .facts b { color: var(--fg); }
  main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { margin: 0 0 8px; font-size: 15px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .role-leader, .role-standby_leader { color: var(--lead); font-weight: 600; }
  .state-running, .state-streaming { color: var(--ok); }
  .state-stopped, .state-crashed, .state-start.failed { color: var(--bad); }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .badge.on { background: #fff8c5; color: var(--warn); }
  .badge.off { background: #dafbe1; color: var(--ok); }
  .badge.bad { background: #ffebe9; color: var(--bad); }
  .tags { color: var(--muted); font-size: 12px; white-space: normal; }
  ol.events { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow: auto; }
  ol.events li { padding: 4px 0; border-bottom: 1px solid var(--line); }
  ol.events time { color: var(--muted); font-size: 12px; margin-right: 8px; font-variant-numeric: tabular-nums; }
  ol.events .role { color: var(--lead); font-weight: 600; }
  #error { color: var(--bad); }
  footer { padding: 0 24px 16px; color: var(--muted); font-size: 12px; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>custos &middot; <span id="scope">&hellip;</span></h1>
  <div class="facts">
    <span>leader <b id="leader" data-leader="">&hellip;</b></span>
    <span>lease <b id="lease">&ndash;</b></span>
    <span>this node <b id="node">&hellip;</b></span>
    <span>maintenance <span id="pause" class="badge">&hellip;</span></span>
    <span>failsafe <span id="failsafe" class="badge">&hellip;</span></span>
    <span id="error"></span>
  </div>
</header>
<main>
  <section class="wide">
    <h2>Members</h2>
    <table>
      <thead><tr><th>Member</th><th>Host</th><th>Role</th><th>State</th><th>TL</th><th>Lag</th><th>Receive LSN</th><th>Replay LSN</th><th>Tags</th></tr></thead>
      <tbody id="members"></tbody>
    </table>
  </section>
  <section>
    <h2>Recent decisions and role changes of this node</h2>
    <ol class="events" id="events"></ol>
  </section>
  <section>
    <h2>Timeline history</h2>
    <table>
      <thead><tr><th>TL</th><th>LSN</th><th>Reason</th><th>When</th><th>New leader</th></tr></thead>
      <tbody id="history"></tbody>
    </table>
    <h2 style="margin-top:14px">Leader changes seen by this page</h2>
    <ol class="events" id="leaders"></ol>
  </section>
</main>
<footer>Read-only. Refreshes every 2 s from this node's REST API (<code>/cluster</code>, <code>/patroni</code>, <code>/history</code>, <code>/ui/events</code>). Updated <span id="updated">never</span>.</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const seenLeaders = [];
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}
function lagText(v) {
  if (v === undefined) return "";
  if (typeof v !== "number") return String(v);
  if (v < 1024) return v + " B";
  if (v < 1048576) return (v / 1024).toFixed(1) + " kB";
  return (v / 1048576).toFixed(1) + " MB";
}
function badge(el, on, onText, offText, bad) {
  el.textContent = on ? onText : offText;
  el.className = "badge " + (on ? (bad ? "bad" : "on") : "off");
}
function clock(epoch) {
  const d = new Date(epoch * 1000);
  return d.toLocaleTimeString([], { hour12: false });
}
async function get(path) {
  const r = await fetch(path, { cache: "no-store", credentials: "same-origin" });
  if (!r.ok && r.status !== 503) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}
async function refresh() {
  try {
    const [cluster, me, history, events] = await Promise.all([get("/cluster"), get("/patroni"), get("/history"), get("/ui/events")]);
    $("scope").textContent = cluster.scope || "";
    $("node").textContent = (me.patroni && me.patroni.name ? me.patroni.name : "?") + " (" + (me.role || "?") + ", " + (me.state || "?") + ")";
    const leader = (cluster.members || []).find((m) => m.role === "leader" || m.role === "standby_leader");
    const leaderName = leader ? leader.name : "none";
    $("leader").textContent = leaderName;
    $("leader").dataset.leader = leaderName;
    if (seenLeaders.length === 0 || seenLeaders[seenLeaders.length - 1].name !== leaderName) {
      seenLeaders.push({ name: leaderName, at: Date.now() / 1000 });
      const li = document.createElement("li");
      const t = document.createElement("time");
      t.textContent = clock(Date.now() / 1000);
      li.appendChild(t);
      li.appendChild(document.createTextNode(leaderName));
      li.className = "leader-change";
      $("leaders").appendChild(li);
    }
    const lease = me.custos && typeof me.custos.lease_remaining === "number" ? me.custos.lease_remaining.toFixed(1) + " s left (held here)" : (leader ? "held by " + leaderName : "no leader");
    $("lease").textContent = lease;
    badge($("pause"), !!cluster.pause, "on (paused)", "off");
    badge($("failsafe"), !!me.failsafe_mode_is_active, "active", "inactive", true);
    const body = document.createElement("tbody");
    body.id = "members";
    for (const m of cluster.members || []) {
      const row = document.createElement("tr");
      row.dataset.member = m.name;
      cell(row, m.name);
      cell(row, m.host ? m.host + (m.port ? ":" + m.port : "") : "");
      cell(row, (m.role || "").replace("_", " "), "role-" + (m.role || ""));
      cell(row, m.state, "state-" + String(m.state || "").replace(/ /g, "."));
      cell(row, m.timeline, "num");
      cell(row, lagText(m.replay_lag !== undefined && typeof m.replay_lag === "number" ? m.replay_lag : m.lag), "num");
      cell(row, m.receive_lsn && m.receive_lsn !== "unknown" ? m.receive_lsn : (m.lsn || ""), "num");
      cell(row, m.replay_lsn && m.replay_lsn !== "unknown" ? m.replay_lsn : "", "num");
      const tags = m.tags ? Object.entries(m.tags).map(([k, v]) => k + "=" + JSON.stringify(v)).join(", ") : "";
      cell(row, tags, "tags");
      body.appendChild(row);
    }
    $("members").replaceWith(body);
    const hist = document.createElement("tbody");
    hist.id = "history";
    for (const h of (Array.isArray(history) ? history : []).slice(-10).reverse()) {
      const row = document.createElement("tr");
      cell(row, h[0], "num"); cell(row, h[1], "num"); cell(row, h[2]); cell(row, h[3] || ""); cell(row, h[4] || "");
      hist.appendChild(row);
    }
    $("history").replaceWith(hist);
    const list = document.createElement("ol");
    list.className = "events";
    list.id = "events";
    for (const e of (Array.isArray(events) ? events : []).slice().reverse()) {
      const li = document.createElement("li");
      const t = document.createElement("time");
      t.textContent = clock(e.time);
      li.appendChild(t);
      const s = document.createElement("span");
      s.textContent = e.text;
      if (e.kind === "role") s.className = "role";
      li.appendChild(s);
      list.appendChild(li);
    }
    $("events").replaceWith(list);
    $("error").textContent = "";
    $("updated").textContent = new Date().toLocaleTimeString([], { hour12: false });
  } catch (err) {
    $("error").textContent = "cannot reach this node's REST API: " + err.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view status_page_html() noexcept { return kPage; }

}  // namespace custos::api
