// twin drill: the control room page. Plain JavaScript, no build step, no request to another site.
// It reads /api/me and /api/map once, then keeps one WebSocket open that brings deltas and takes commands.
"use strict";
const S = { me: null, map: null, closed: new Set(), flood: new Set(), down: new Set(), series: [], feed: [],
  crews: {}, shelters: {}, shelterNames: {}, clock: null, view: null, pending: new Map(), nextId: 1, ws: null, picked: null };
const $ = (id) => document.getElementById(id);

function hms(s) {
  s = Math.round(s); const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(x).padStart(2, "0")}`;
}

async function start() {
  const me = await fetch("/api/me"); if (!me.ok) { document.body.textContent = (await me.json()).error; return; }
  S.me = await me.json();
  S.map = await (await fetch("/api/map")).json();
  $("title").textContent = S.me.scenario; $("role").textContent = S.me.title;
  buildForms(); if (S.me.controls) buildControls();
  if (S.me.kind === "controller" || S.me.kind === "evaluator") loadMsel();
  fitView(); draw(); connect();
  window.addEventListener("resize", () => { fitView(); draw(); });
  $("map").addEventListener("contextmenu", pick);
  document.addEventListener("click", (ev) => { if (!$("pickmenu").contains(ev.target)) hideMenu(); });
  $("map").addEventListener("wheel", zoom, { passive: false });
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  S.ws = ws;
  ws.onmessage = (m) => {
    const d = JSON.parse(m.data);
    if (d.type === "delta") apply(d);
    else { const form = S.pending.get(d.id); S.pending.delete(d.id); answer(d, form); }
  };
  ws.onclose = () => { $("behind").textContent = "connection lost: retrying"; setTimeout(connect, 2000); };
}

function send(type, payload, form) {
  const id = S.nextId++; S.pending.set(id, form);
  S.ws.send(JSON.stringify({ id, type, payload }));
}

function answer(d, form) {
  const el = $("answer");
  if (d.type === "ack") { el.className = "good"; el.textContent = `sent (#${d.seq}, at ${hms(d.t_s)})`; if (form) form.reset(); }
  else {
    el.className = "bad";
    el.textContent = d.problems ? d.problems.map((p) => `${p.field}: ${p.message}`).join("; ") : d.error;
  }
}

function apply(d) {
  if (d.clock) { S.clock = d.clock; showClock(); }
  if (d.closed) { S.closed = new Set(d.closed); S.flood = new Set(d.closed_by.flood.concat(d.closed_by.debris)); }
  if (d.down) S.down = new Set(d.down);
  Object.assign(S.crews, d.crews || {}); Object.assign(S.shelters, d.shelters || {});
  Object.assign(S.shelterNames, d.shelter_names || {});
  if (d.series) { S.series.push(...d.series); showVitals(); }
  for (const e of d.log || []) S.feed.push({ t: e.t_s, text: `${e.kind} ${e.target} ${e.details.text || ""} (${e.cause})` });
  for (const e of d.journal || []) S.feed.push({ t: e.t_s, text: journalLine(e) });
  if (d.log || d.journal) showFeed();
  if (d.closed || d.down || d.crews || d.shelters) draw();
}

function journalLine(e) {
  const p = e.payload;
  if (e.type === "clock") return `controller: clock ${p.action}${p.speed !== undefined ? " " + p.speed + "x" : ""}`;
  if (e.type === "end") return `drill ended: ${p.reason || "by the controller"}`;
  const who = e.type === "inject" ? `inject ${e.msel}` : e.role;
  if (p.command === "message") return `${who} → ${p.to || "all"}: ${p.text}`;
  const { command, ...fields } = p;
  return `${who}: ${command} ${JSON.stringify(fields)}`;
}

function showClock() {
  const c = S.clock;
  $("clock").textContent = hms(c.sim_s) + (c.ended ? " (ended)" : c.paused ? " (paused)" : "");
  $("speed").textContent = `${c.set_speed}x`;
  const select = document.querySelector("#controls select");
  if (select && [...select.options].some((o) => Number(o.value) === c.set_speed)) select.value = c.set_speed;
  $("behind").textContent = c.behind_s > 0 ? `behind by ${Math.round(c.behind_s)} s` : "";
}

function showVitals() {
  const last = S.series[S.series.length - 1]; const box = $("gauges"); box.textContent = "";
  for (const key of Object.keys(last).filter((k) => k.startsWith("Q_"))) {
    const row = document.createElement("div"); row.className = "gauge";
    const name = document.createElement("span"); name.textContent = key.slice(2);
    const value = document.createElement("b"); value.textContent = last[key] === null ? "–" : last[key].toFixed(3);
    const spark = document.createElement("canvas"); spark.width = 220; spark.height = 24;
    row.append(name, value, spark); box.append(row); sparkline(spark, key);
  }
}

function sparkline(canvas, key) {
  const g = canvas.getContext("2d"), end = S.clock ? S.clock.end_s : 1;
  g.strokeStyle = "#1d6fa5"; g.beginPath();
  S.series.forEach((r, i) => {
    if (r[key] === null) return;
    const x = (r.t_s / end) * canvas.width, y = canvas.height - 2 - r[key] * (canvas.height - 4);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}

function showFeed() {
  const ol = $("feed"); ol.textContent = "";
  for (const f of S.feed.slice(-200).reverse()) {
    const li = document.createElement("li"); const t = document.createElement("span"); t.className = "t";
    t.textContent = hms(f.t) + " "; li.append(t, document.createTextNode(f.text)); ol.append(li);
  }
}

// --- the map: the City's own geometry on a canvas, metres scaled to pixels ---------------------------------
function fitView() {
  const c = $("map"); c.width = c.clientWidth; c.height = c.clientHeight;
  const [w, h] = S.map.size_m; const k = Math.min(c.width / w, c.height / h) * 0.95;
  S.view = { k, x: (c.width - w * k) / 2, y: (c.height + h * k) / 2 };
}
const px = (x, y) => [S.view.x + x * S.view.k, S.view.y - y * S.view.k];

function line(g, flat) {
  g.beginPath();
  for (let i = 0; i < flat.length; i += 2) { const [x, y] = px(flat[i], flat[i + 1]); if (i) g.lineTo(x, y); else g.moveTo(x, y); }
  g.stroke();
}

function draw() {
  const c = $("map"), g = c.getContext("2d"); g.clearRect(0, 0, c.width, c.height);
  g.lineWidth = 1.5; g.strokeStyle = "#3a7bd5";
  S.map.rivers.forEach((r, i) => { g.lineWidth = S.map.river_kind[i] === "river" ? 2.5 : 1; line(g, r); });
  g.strokeStyle = "#9a9a9a"; g.lineWidth = 1; S.map.roads.forEach((r) => line(g, r));
  g.lineWidth = 4;
  for (const id of S.closed) { g.strokeStyle = S.flood.has(id) ? "#8e44ad" : "#d62728"; line(g, S.map.roads[id]); }
  const comp = S.map.components;
  for (const id of S.down) {
    const [x, y] = px(comp.x[id], comp.y[id]); g.fillStyle = "#e67e22"; g.beginPath(); g.arc(x, y, 4, 0, 7); g.fill();
  }
  drawComponents(g); drawShelters(g); drawCrews(g); drawPicked(g);
}

// Lifeline components and facilities: a small diamond coloured by group (towers, poles and lines once zoomed in).
const GROUP_COLOURS = { power: "#c9a000", water: "#3a7bd5", telecom: "#8e44ad", facility: "#555", traffic: "#bbb" };
const MINOR = new Set(["tower", "pole", "line", "minor_line", "cable", "portal", "traffic_signals"]);
const drawn = (id) => {  // shelters are drawn (and picked) as shelters
  const kind = S.map.components.kind[id]; return kind !== "shelter" && !(MINOR.has(kind) && S.view.k < 0.5);
};
function drawComponents(g) {
  const comp = S.map.components;
  for (let id = 0; id < comp.x.length; id++) {
    if (!drawn(id)) continue;
    const [x, y] = px(comp.x[id], comp.y[id]); g.fillStyle = GROUP_COLOURS[comp.group[id]] || "#555";
    g.beginPath(); g.moveTo(x, y - 3.5); g.lineTo(x + 3.5, y); g.lineTo(x, y + 3.5); g.lineTo(x - 3.5, y); g.fill();
  }
}

function drawPicked(g) {
  const p = S.picked; if (!p) return;
  g.strokeStyle = "#000"; g.lineWidth = 3;
  if (p.type === "road") { line(g, S.map.roads[p.id]); return; }
  const [x, y] = p.type === "shelter" ? px(S.shelters[p.id][0], S.shelters[p.id][1])
    : px(S.map.components.x[p.id], S.map.components.y[p.id]);
  g.lineWidth = 2; g.beginPath(); g.arc(x, y, 9, 0, 7); g.stroke();
}

// Shelters: a square filled by the share of its places taken, grey when closed, with "inside/places".
function drawShelters(g) {
  g.font = "11px sans-serif"; g.lineWidth = 1.5;
  for (const [i, [sx, sy, inside, places, open]] of Object.entries(S.shelters)) {
    const [x, y] = px(sx, sy), full = places > 0 ? Math.min(1, inside / places) : 1;
    g.fillStyle = "#fff"; g.fillRect(x - 6, y - 6, 12, 12);
    g.fillStyle = open ? "#2e8b57" : "#888"; g.fillRect(x - 6, y + 6 - 12 * full, 12, 12 * full);
    g.strokeStyle = open ? "#2e8b57" : "#888"; g.strokeRect(x - 6, y - 6, 12, 12);
    const label = S.view.k > 0.5 ? `${S.shelterNames[i]} ` : "";  // names once zoomed in
    g.fillStyle = "#222"; g.fillText(`${label}${inside}/${places}${open ? "" : " closed"}`, x + 8, y + 4);
  }
}

// Crews: a dot coloured by what it does (free, on the way, on scene, returning).
const CREW_COLOURS = ["#2ca02c", "#ff7f0e", "#d62728", "#1f77b4"];
function drawCrews(g) {
  for (const [cx, cy, status] of Object.values(S.crews)) {
    const [x, y] = px(cx, cy); g.fillStyle = CREW_COLOURS[status]; g.strokeStyle = "#fff"; g.lineWidth = 1;
    g.beginPath(); g.arc(x, y, 3.5, 0, 7); g.fill(); g.stroke();
  }
}

function zoom(ev) {
  ev.preventDefault(); const f = ev.deltaY < 0 ? 1.25 : 0.8, r = $("map").getBoundingClientRect();
  const mx = ev.clientX - r.left, my = ev.clientY - r.top;
  S.view = { k: S.view.k * f, x: mx - (mx - S.view.x) * f, y: my - (my - S.view.y) * f }; draw();
}

// Right-click: the nearest shelter or component within a few pixels, else the nearest road (to its vertices);
// a menu offers the role's commands that apply to it, each filling its form's target and sending the form.
const PICK_PX = 10, SHELTER_PX = 7;
function pick(ev) {
  ev.preventDefault(); const r = $("map").getBoundingClientRect();
  const cx = ev.clientX - r.left, cy = ev.clientY - r.top;
  S.picked = nearestPoint(cx, cy) || nearestRoad(cx, cy); draw();
  if (S.picked && S.picked.type === "road") {  // the road forms' targets too, to send with other fields
    for (const input of document.querySelectorAll("input[data-kind=links]")) input.value = `links=${S.picked.id}`;
  }
  showMenu(S.picked, ev.clientX, ev.clientY);
}

function nearestPoint(cx, cy) {
  let best = null, dist = PICK_PX ** 2;
  const consider = (type, id, mx, my) => {
    const [x, y] = px(mx, my), d = (x - cx) ** 2 + (y - cy) ** 2; if (d < dist) { dist = d; best = { type, id }; }
  };
  for (const [id, [sx, sy]] of Object.entries(S.shelters)) consider("shelter", Number(id), sx, sy);
  if (best && dist <= SHELTER_PX ** 2) return best;  // a click on a shelter's square is the shelter's
  const comp = S.map.components;
  for (let id = 0; id < comp.x.length; id++) if (drawn(id)) consider("component", id, comp.x[id], comp.y[id]);
  return best;
}

function nearestRoad(cx, cy) {
  const mx = (cx - S.view.x) / S.view.k, my = (S.view.y - cy) / S.view.k;
  let best = null, dist = Infinity;
  S.map.roads.forEach((flat, id) => {
    for (let i = 0; i < flat.length; i += 2) {
      const d = (flat[i] - mx) ** 2 + (flat[i + 1] - my) ** 2; if (d < dist) { dist = d; best = id; }
    }
  });
  return best === null ? null : { type: "road", id: best };
}

// What was picked, in words, and the commands that apply: [command, label, field, value].
function actionsFor(p) {
  if (p.type === "road") {
    return { what: `road ${p.id} ${S.map.road_names[p.id] || ""}`,
      actions: [["close_road", "close this road", "target", `links=${p.id}`], ["open_road", "reopen this road", "target", `links=${p.id}`]] };
  }
  if (p.type === "shelter") {
    const [, , inside, places, open] = S.shelters[p.id], name = S.shelterNames[p.id];
    const actions = open ? [["close_shelter", "close this shelter", "shelter", name]] : [["open_shelter", "open this shelter again", "shelter", name]];
    return { what: `shelter ${name} (${inside}/${places}${open ? "" : ", closed"})`, actions };
  }
  const comp = S.map.components, id = p.id, down = S.down.has(id), target = `components=${id}`;
  const actions = down ? [["repair_component", "restore it", "target", target]] : [["fail_component", "fail it", "target", target]];
  if (down && (S.me.repairs === null || S.me.repairs === comp.group[id])) actions.push(["prioritise_repair", "repair it first", "target", target]);
  return { what: `${comp.kind[id]} ${comp.name[id] || ""} (component ${id}, ${comp.group[id]}${down ? ", down" : ""})`, actions };
}

function showMenu(p, x, y) {
  const menu = $("pickmenu"); menu.textContent = ""; hideMenu();
  if (!p) return;
  const { what, actions } = actionsFor(p), mine = new Set(S.me.commands.map((c) => c.name));
  const title = document.createElement("div"); title.className = "what"; title.textContent = what; menu.append(title);
  const allowed = actions.filter(([command]) => mine.has(command));
  for (const [command, label, field, value] of allowed) {
    const b = document.createElement("button"); b.textContent = label; b.dataset.command = command;
    b.onclick = () => { hideMenu(); sendFromForm(command, field, value); }; menu.append(b);
  }
  if (!allowed.length) { const n = document.createElement("div"); n.textContent = "no command of this role applies"; menu.append(n); }
  menu.style.left = `${x}px`; menu.style.top = `${y}px`; menu.hidden = false;
  $("answer").className = ""; $("answer").textContent = `picked ${what}`;
}

function hideMenu() { $("pickmenu").hidden = true; }

// The form of the command, its target filled with what was picked, sent as if its button were pressed (the
// form's other fields, e.g. restore_after, go with it).
function sendFromForm(command, field, value) {
  const form = document.querySelector(`form[data-command=${command}]`);
  for (const name of ["target", "shelter", "building"]) { const input = form.querySelector(`[name=${name}]`); if (input) input.value = ""; }
  form.querySelector(`[name=${field}]`).value = value; form.requestSubmit();
}

// --- forms built from the role's commands (/api/me) ------------------------------------------------------
function parseTarget(text) {
  // "street=Meritxell", "links=12,13", "bridges_over=valira; street=Meritxell" or JSON
  text = text.trim(); if (text.startsWith("{")) return JSON.parse(text);
  const target = {};
  for (const part of text.split(";").map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split("=").map((p) => p.trim());
    const list = ["links", "osm_ways", "components", "osm_ids"].includes(key);
    const many = ["kinds", "groups"].includes(key);
    target[key] = list ? value.split(",").map(Number) : many ? value.split(",").map((v) => v.trim()) : value;
  }
  return target;
}

// A form's text as the JSON the server checks: selectors, whole numbers, lists of names, true/false.
function fieldValue(kind, text) {
  if (["links", "components"].includes(kind)) return parseTarget(text);
  if (["number", "count", "building"].includes(kind)) return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
  if (["zones", "channels"].includes(kind)) return text.split(",").map((v) => v.trim()).filter(Boolean);
  if (kind === "flag") return text === "true";
  return text;
}

function buildForms() {
  const box = $("commandforms");
  if (!S.me.commands.length) { box.textContent = "This role watches: it sends no commands."; return; }
  for (const cmd of S.me.commands) {
    const form = document.createElement("form"); form.dataset.command = cmd.name;
    const title = document.createElement("b"); title.textContent = cmd.title; form.append(title);
    for (const f of cmd.fields) {
      const label = document.createElement("label"); label.textContent = `${f.name}${f.required ? "" : " (optional)"}`;
      let input;
      if (f.kind === "desk") {
        input = document.createElement("select"); input.append(new Option("everyone", ""));
        for (const [k, v] of Object.entries(S.me.desks)) input.append(new Option(v, k));
      } else if (f.kind === "flag") {
        input = document.createElement("select");
        for (const v of ["", "true", "false"]) input.append(new Option(v || "(default)", v));
      } else { input = document.createElement("input"); input.placeholder = f.help; }
      input.name = f.name; input.dataset.kind = f.kind; label.append(input); form.append(label);
    }
    const button = document.createElement("button"); button.textContent = "Send"; form.append(button);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault(); const payload = { command: cmd.name };
      try {
        for (const input of form.querySelectorAll("input, select")) {
          if (!input.value) continue;
          payload[input.name] = fieldValue(input.dataset.kind, input.value);
        }
      } catch (err) { answer({ error: `target: ${err.message}` }); return; }
      send("command", payload, form);
    });
    box.append(form);
  }
}

function buildControls() {
  const box = $("controls");
  for (const action of ["start", "pause", "step"]) {
    const b = document.createElement("button"); b.textContent = action; b.onclick = () => send("clock", { action }); box.append(b);
  }
  const speed = document.createElement("select");
  for (const v of [0, 1, 10, 30, 60, 120, 300, 600, 3600]) speed.append(new Option(`${v}x`, v));
  speed.value = 60; speed.onchange = () => send("clock", { action: "speed", speed: Number(speed.value) }); box.append(speed);
  const end = document.createElement("button"); end.textContent = "end drill";
  end.onclick = () => { if (confirm("End the drill?")) send("clock", { action: "end" }); }; box.append(end);
}

async function loadMsel() {
  const r = await fetch("/api/msel"); if (!r.ok) return; const data = await r.json();
  $("mselbox").hidden = false; const table = $("msel"); table.textContent = "";
  for (const i of data.injects) {
    const tr = table.insertRow(); [i.number, hms(i.time_s), i.to, i.message].forEach((v) => { tr.insertCell().textContent = v; });
    const cell = tr.insertCell();
    if (S.me.controls) { const b = document.createElement("button"); b.textContent = i.sent ? "sent" : "fire"; b.disabled = i.sent;
      b.onclick = () => { send("inject", { number: i.number }); b.disabled = true; b.textContent = "sent"; }; cell.append(b); }
  }
}

start();
