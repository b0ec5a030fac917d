// vemo labelling page: keyboard-first labelling of a workspace's face crops.
// Every change goes to the server at once (it writes labels.csv); the page polls for changes
// made elsewhere (another tab, `vemo label` in a terminal) and redraws what changed.
"use strict";

const COLOURS = ["#8c564b", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#17becf", "#bcbd22", "#7f7f7f"];
const PAGE = 300;
const client = Math.random().toString(36).slice(2, 12);
const state = { classes: [], rejected: "rejected", items: [], offset: 0, total: 0, cursor: 0, anchor: 0,
                selected: new Set(), version: 0, pendingRest: false };
const $ = (id) => document.getElementById(id);
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

async function api(path, body) {
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ client, ...body }) };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || response.statusText);
  return data;
}

function colour(label) {
  if (label === state.rejected) return "#555";
  const i = state.classes.indexOf(label);
  return i < 0 ? "#999" : COLOURS[i % COLOURS.length];
}

function status(text) { $("status").textContent = text; }

async function loadMeta() {
  const meta = await api("/api/meta");
  state.classes = meta.classes;
  state.rejected = meta.rejected;
  state.version = meta.version;
  $("workspace").textContent = meta.workspace;
  $("legend").innerHTML = meta.classes.map((c, i) =>
    `<span style="background:${colour(c)}">${i + 1} ${esc(c)}</span>`).join("") +
    `<span style="background:#555">x ${esc(meta.rejected)}</span>`;
  $("filter").innerHTML = meta.filters.map((f) => `<option value="${esc(f)}">${esc(f.replace("class:", ""))}</option>`).join("");
  $("source").innerHTML += meta.sources.map((s) => `<option value="${esc(s.id)}">${esc(s.id)} (${s.crops})</option>`).join("");
  $("rest-label").innerHTML = meta.classes.map((c) => `<option>${esc(c)}</option>`).join("") +
    `<option>${esc(meta.rejected)}</option>`;
}

async function loadPage() {
  const params = new URLSearchParams({ filter: $("filter").value, offset: state.offset, limit: PAGE });
  if ($("source").value) params.set("source", $("source").value);
  const page = await api(`/api/crops?${params}`);
  state.items = page.items;
  state.total = page.total;
  state.cursor = Math.min(state.cursor, Math.max(page.items.length - 1, 0));
  state.anchor = state.cursor;
  state.selected = new Set(page.items.length ? [state.cursor] : []);
  render();
  await refreshProgress();
}

function tileHtml(item, index) {
  const label = item.label || "";
  return `<div class="tile${label === state.rejected ? " rejected" : ""}" data-index="${index}" title="${esc(item.crop)}">` +
    `<img loading="lazy" src="/thumbs/${esc(encodeURI(item.crop))}" alt="${esc(item.crop)}">` +
    `<span class="frame">${item.frame}</span>` +
    `<span class="badge" style="background:${label ? colour(label) : "#ccc"}">${esc(label || "—")}</span></div>`;
}

function render() {
  const groups = [];
  state.items.forEach((item, index) => {
    if (!groups.length || groups[groups.length - 1].source !== item.source) groups.push({ source: item.source, tiles: [] });
    groups[groups.length - 1].tiles.push(tileHtml(item, index));
  });
  $("grid").innerHTML = groups.length ? groups.map((g) => `<h2>${esc(g.source)}</h2><div class="row">${g.tiles.join("")}</div>`).join("")
    : "<p>No crops match this filter.</p>";
  const last = Math.min(state.offset + PAGE, state.total);
  $("page").textContent = state.total ? `${state.offset + 1}–${last} of ${state.total}` : "0 of 0";
  markSelection();
}

function tiles() { return $("grid").querySelectorAll(".tile"); }

function markSelection() {
  tiles().forEach((tile) => {
    const i = Number(tile.dataset.index);
    tile.classList.toggle("selected", state.selected.has(i));
    tile.classList.toggle("cursor", i === state.cursor);
  });
  const current = tiles()[state.cursor];
  if (current) current.scrollIntoView({ block: "nearest" });
}

function updateTile(index) {
  const old = tiles()[index];
  if (!old) return;
  const holder = document.createElement("div");
  holder.innerHTML = tileHtml(state.items[index], index);
  old.replaceWith(holder.firstChild);
}

async function refreshProgress() {
  const p = await api("/api/progress");
  const parts = state.classes.map((c) => `${c} ${p.per_class[c]}`).join(" · ");
  $("progress").textContent = `labelled ${p.labelled} / ${p.total} — ${parts} · ${state.rejected} ${p.per_class[state.rejected]}`;
}

function targets() {
  const chosen = [...state.selected].sort((a, b) => a - b);
  return (chosen.length ? chosen : [state.cursor]).filter((i) => state.items[i]);
}

// Changes are shown and the cursor moves at once; requests go out one at a time, in key order,
// so fast typing never races (two quick keys on one crop: the second wins, on screen and on disk).
let queue = Promise.resolve();
function enqueue(task) { queue = queue.then(task, task); return queue; }

function applyLabel(label) {
  const indices = targets();
  if (!indices.length) return;
  const previous = indices.map((i) => state.items[i].label);
  indices.forEach((i) => { state.items[i].label = label; updateTile(i); });
  move(indices[indices.length - 1] + 1 - state.cursor, false);
  enqueue(async () => {
    try {
      const result = await api("/api/labels", { crops: indices.map((i) => state.items[i].crop), label });
      state.version = Math.max(state.version, result.version);
      status(`${label === null ? "unlabelled" : label}: ${indices.length} crop(s) saved to labels.csv`);
      await refreshProgress();
    } catch (error) {
      indices.forEach((i, k) => { state.items[i].label = previous[k]; updateTile(i); });
      markSelection();
      status(`not saved: ${error.message}`);
    }
  });
}

function applyRest(label) {
  const item = state.items[state.cursor];
  if (!item) return;
  enqueue(async () => { try {
    const result = await api("/api/labels", { source: item.source, from_frame: item.frame, label });
    status(`${label}: ${result.changed} crop(s) of ${item.source} from frame ${item.frame} saved`);
    await pollChanges();
    await refreshProgress();
  } catch (error) { status(`not saved: ${error.message}`); } });
}

function undo() {
  enqueue(async () => { try {
    const result = await api("/api/undo", {});
    status(result.undone ? `undone: ${result.undone} crop(s)` : "nothing to undo");
    await pollChanges();
    await refreshProgress();
  } catch (error) { status(`undo failed: ${error.message}`); } });
}

function move(step, extend) {
  if (!state.items.length) return;
  state.cursor = Math.max(0, Math.min(state.items.length - 1, state.cursor + step));
  if (extend) {
    const [a, b] = [Math.min(state.anchor, state.cursor), Math.max(state.anchor, state.cursor)];
    state.selected = new Set(Array.from({ length: b - a + 1 }, (_, k) => a + k));
  } else {
    state.anchor = state.cursor;
    state.selected = new Set([state.cursor]);
  }
  markSelection();
}

function perRow() {
  const all = tiles();
  if (all.length < 2) return 1;
  const top = all[0].offsetTop;
  let n = 0;
  while (n < all.length && all[n].offsetTop === top) n++;
  return Math.max(n, 1);
}

async function pollChanges() {
  try {
    const result = await api(`/api/changes?since=${state.version}`);
    const changed = result.changes;
    state.version = result.version;
    let any = false;
    state.items.forEach((item, i) => {
      if (item.crop in changed) { item.label = changed[item.crop]; updateTile(i); any = true; }
    });
    if (any) { markSelection(); await refreshProgress(); }
  } catch (error) { status(`server not reachable: ${error.message}`); }
}

function openViewer() {
  const item = state.items[state.cursor];
  if (!item) return;
  $("viewer-title").textContent = `${item.crop} — frame ${item.frame}${item.label ? " — " + item.label : ""}`;
  $("viewer-crop").src = `/files/${encodeURI(item.crop)}`;
  $("viewer-frame").src = `/api/frame?crop=${encodeURIComponent(item.crop)}`;
  const neighbours = state.items.map((other, i) => ({ other, i }))
    .filter(({ other, i }) => other.source === item.source && Math.abs(i - state.cursor) <= 3);
  $("viewer-neighbours").innerHTML = neighbours.map(({ other, i }) =>
    `<img src="/thumbs/${esc(encodeURI(other.crop))}" class="${i === state.cursor ? "current" : ""}" title="frame ${other.frame}">`).join("");
  $("viewer").hidden = false;
}

function closeViewer() { $("viewer").hidden = true; }

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "SELECT" || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (key === "Escape") { closeViewer(); state.pendingRest = false; return; }
  const digit = /^[1-9]$/.test(key) ? Number(key) - 1 : -1;
  const label = digit >= 0 && digit < state.classes.length ? state.classes[digit] : (key === "x" ? state.rejected : null);
  if (state.pendingRest) {
    state.pendingRest = false;
    if (label) { event.preventDefault(); applyRest(label); }
    return;
  }
  if (label) { event.preventDefault(); applyLabel(label); return; }
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow(), ArrowUp: -perRow() };
  if (key in moves) { event.preventDefault(); move(moves[key], event.shiftKey); return; }
  if (key === "Delete" || key === "Backspace") { event.preventDefault(); applyLabel(null); return; }
  if (key === "u") { event.preventDefault(); undo(); return; }
  if (key === "r") { state.pendingRest = true; status("rest of this clip: press a class key (1–9) or x"); return; }
  if (key === "Enter") { event.preventDefault(); openViewer(); }
});

$("grid").addEventListener("click", (event) => {
  const tile = event.target.closest(".tile");
  if (!tile) return;
  const index = Number(tile.dataset.index);
  if (event.shiftKey) {
    state.cursor = index;
    const [a, b] = [Math.min(state.anchor, index), Math.max(state.anchor, index)];
    state.selected = new Set(Array.from({ length: b - a + 1 }, (_, k) => a + k));
  } else {
    state.cursor = state.anchor = index;
    state.selected = new Set([index]);
  }
  markSelection();
});
$("grid").addEventListener("dblclick", openViewer);
$("viewer-close").addEventListener("click", closeViewer);
$("filter").addEventListener("change", () => { state.offset = 0; state.cursor = 0; loadPage(); });
$("source").addEventListener("change", () => { state.offset = 0; state.cursor = 0; loadPage(); });
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); state.cursor = 0; loadPage(); });
$("next").addEventListener("click", () => {
  if (state.offset + PAGE < state.total) { state.offset += PAGE; state.cursor = 0; loadPage(); }
});
$("rest").addEventListener("click", () => applyRest($("rest-label").value));
$("undo").addEventListener("click", undo);

(async () => {
  await loadMeta();
  await loadPage();
  status("ready: every change is saved to labels.csv at once");
  document.body.dataset.ready = "1";
  setInterval(() => enqueue(pollChanges), 2000);
})();
