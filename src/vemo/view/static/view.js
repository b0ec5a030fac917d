// vemo view: the inputs of a predictions folder; one input played with its faces and timeline.
"use strict";
const PAGE_ROWS = 100;
const state = { inputs: [], classes: [], colours: [], shown: [], page: 0, sortKey: "number", sortUp: true,
  current: null, index: 0, playing: false, pending: false, clockStart: 0, mediaStart: 0 };
const $ = (id) => document.getElementById(id);

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
  return response.json();
}

function colourOf(label) { return state.colours[Math.max(0, state.classes.indexOf(label)) % state.colours.length]; }
function confidence(row) { return row.label ? (row.probabilities[row.label] ?? 0) : -1; }
// text for HTML, in element content and in quoted attributes alike (file names may hold quotes and brackets)
function escapeText(text) {
  const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text).replace(/[&<>"']/g, (c) => entities[c]);
}

async function start() {
  const data = await getJSON("/api/inputs");
  Object.assign(state, { inputs: data.inputs, classes: data.classes, colours: data.colours });
  $("folder").textContent = data.folder;
  for (const label of [...new Set(data.inputs.map((r) => r.label).filter(Boolean))].sort()) $("label-filter").add(new Option(label, label));
  for (const status of [...new Set(data.inputs.map((r) => r.status))].sort()) $("status-filter").add(new Option(status, status));
  $("legend").innerHTML = data.classes.map((c) => `<span><i style="background:${colourOf(c)}"></i>${escapeText(c)}</span>`).join("");
  for (const id of ["search", "label-filter", "status-filter"]) $(id).addEventListener("input", () => { state.page = 0; refreshTable(); });
  document.querySelectorAll("th[data-key]").forEach((th) => th.addEventListener("click", () => {
    state.sortUp = state.sortKey === th.dataset.key ? !state.sortUp : true;
    state.sortKey = th.dataset.key;
    refreshTable();
  }));
  $("previous-page").onclick = () => { state.page = Math.max(0, state.page - 1); refreshTable(); };
  $("next-page").onclick = () => { state.page = Math.min(lastPage(), state.page + 1); refreshTable(); };
  $("play").onclick = togglePlay;
  $("timeline").addEventListener("click", seekFromTimeline);
  $("frame").addEventListener("load", frameLoaded);
  $("frame").addEventListener("error", () => { state.pending = false; showError("this frame could not be decoded"); });
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => { drawBoxes(); drawTimeline(); });
  refreshTable();
  document.body.dataset.ready = "true";
  if (state.shown.length) openInput(state.shown[0].number);
}

// every class's probability as one stacked bar, the numbers in its tooltip
function probabilityBar(row) {
  if (!row.label) return "";
  const parts = state.classes.map((c) => [c, row.probabilities[c] ?? 0]);
  const title = parts.map(([c, p]) => `${c} ${p.toFixed(2)}`).join(", ");
  return `<span class="bar" title="${escapeText(title)}">` + parts.map(([c, p]) =>
    `<i style="width:${(100 * p).toFixed(1)}%;background:${colourOf(c)}"></i>`).join("") + "</span>";
}

function lastPage() { return Math.max(0, Math.ceil(state.shown.length / PAGE_ROWS) - 1); }

function refreshTable() {
  const text = $("search").value.toLowerCase(), label = $("label-filter").value, status = $("status-filter").value;
  const key = state.sortKey, sign = state.sortUp ? 1 : -1;
  const value = (row) => key === "confidence" ? confidence(row) : (row[key] ?? "");
  state.shown = state.inputs.filter((row) => (!label || row.label === label) && (!status || row.status === status)
    && (!text || `${row.name} ${row.source} ${row.error}`.toLowerCase().includes(text)))
    .sort((a, b) => (value(a) > value(b) ? 1 : value(a) < value(b) ? -1 : a.number - b.number) * sign);
  const rows = state.shown.slice(state.page * PAGE_ROWS, (state.page + 1) * PAGE_ROWS);
  $("inputs").tBodies[0].innerHTML = rows.map((row) => `<tr data-number="${row.number}" class="${row.status === "failed" || row.status === "damaged" ? "failed" : ""}${state.current && state.current.number === row.number ? " selected" : ""}" title="${escapeText(row.error || row.source)}">`
    + `<td>${row.number + 1}</td><td>${escapeText(row.name || row.source)}</td>`
    + `<td>${row.label ? `<span class="dot" style="background:${colourOf(row.label)}"></span>${escapeText(row.label)}` : ""}</td>`
    + `<td>${row.label ? confidence(row).toFixed(2) : ""}</td><td>${probabilityBar(row)}</td>`
    + `<td>${row.face_share == null ? "" : Math.round(row.face_share * 100) + " %"}</td>`
    + `<td>${escapeText(row.status)}${row.error ? ": " + escapeText(row.error) : ""}</td></tr>`).join("");
  for (const tr of $("inputs").tBodies[0].rows) tr.onclick = () => openInput(Number(tr.dataset.number));
  $("count").textContent = `${state.shown.length} of ${state.inputs.length} inputs`;
  $("page").textContent = `page ${state.page + 1} of ${lastPage() + 1}`;
}

function showError(message) { $("error").hidden = !message; $("error").textContent = message || ""; }

async function openInput(number) {
  pause();
  showError("");
  let details;
  try { details = await getJSON(`/api/inputs/${number}`); } catch (error) { showError(String(error.message)); return; }
  const times = details.timeline.time_s || [], frameIndices = details.timeline.frame || [];
  const faces = new Map();
  for (const face of details.timeline.faces || []) {
    if (!faces.has(face[0])) faces.set(face[0], []);
    faces.get(face[0]).push(face);
  }
  const mainTrack = details.verdict ? details.verdict.track : 0;
  const seen = new Set(), frames = [];
  frameIndices.forEach((frame, i) => { if (!seen.has(frame)) { seen.add(frame); frames.push({ frame, time: times[i] }); } });
  state.current = { ...details, frames, faces, mainTrack };
  state.index = 0;
  $("title").textContent = `${number + 1}. ${details.source}: ${details.label || details.status}`;
  if (details.status === "failed") showError(details.error);
  else if (details.status === "damaged") showError(`damaged: ${details.error}`);
  else if (!details.playable) showError("the source file is not there any more: the timeline only");
  $("segments").innerHTML = ((details.verdict && details.verdict.segments) || []).map((s, i) =>
    `<li data-start="${s.start_s}"><span class="dot" style="background:${colourOf(s.emotion)}"></span>${s.start_s.toFixed(2)}–${s.end_s.toFixed(2)} s: ${escapeText(s.emotion)} (${s.mean_probability.toFixed(2)})</li>`).join("");
  for (const li of $("segments").children) li.onclick = () => showAt(indexAtTime(Number(li.dataset.start)));
  refreshTable();
  showAt(0);
}

function indexAtTime(seconds) {
  const frames = state.current.frames;
  let best = 0;
  for (let i = 0; i < frames.length; i++) if (frames[i].time <= seconds + 1e-6) best = i; else break;
  return best;
}

function showAt(index) {
  const current = state.current;
  if (!current || !current.frames.length) { $("frame").removeAttribute("src"); drawTimeline(); return; }
  state.index = Math.max(0, Math.min(current.frames.length - 1, index));
  const entry = current.frames[state.index];
  $("clock").textContent = `${entry.time.toFixed(2)} s · frame ${entry.frame} · ${state.index + 1}/${current.frames.length} analysed`;
  drawTimeline();
  if (!current.playable) return;
  state.pending = true;
  $("frame").dataset.frame = entry.frame;
  $("frame").src = `/api/inputs/${current.number}/frame/${entry.frame}.jpg`;
}

function frameLoaded() {
  state.pending = false;
  document.body.dataset.frame = $("frame").dataset.frame;  // what is on screen, for tests and tools
  document.body.dataset.input = state.current.number;
  drawBoxes();
  if (state.playing) setTimeout(nextPlayedFrame, 0);
}

function drawBoxes() {
  const image = $("frame"), canvas = $("boxes"), current = state.current;
  if (!current || !image.naturalWidth) return;
  // small videos (the synthetic corpus's) are drawn larger: the stage's width, at most 56 % of the window's height
  const fit = Math.min(image.parentElement.clientWidth / image.naturalWidth, (0.56 * window.innerHeight) / image.naturalHeight);
  image.style.width = `${Math.round(image.naturalWidth * fit)}px`; image.style.height = `${Math.round(image.naturalHeight * fit)}px`;
  canvas.width = image.clientWidth; canvas.height = image.clientHeight;
  canvas.style.left = `${image.offsetLeft}px`; canvas.style.top = `${image.offsetTop}px`;
  const context = canvas.getContext("2d"), k = image.clientWidth / (current.width || image.naturalWidth);
  context.clearRect(0, 0, canvas.width, canvas.height);
  for (const [, track, x, y, w, h, , probabilities] of current.faces.get(Number(image.dataset.frame)) || []) {
    const best = probabilities.indexOf(Math.max(...probabilities)), label = state.classes[best];
    context.strokeStyle = context.fillStyle = colourOf(label);
    context.lineWidth = 2;
    context.strokeRect(x * k, y * k, w * k, h * k);
    context.font = "14px system-ui, sans-serif";
    const text = `${current.faces.size && track !== current.mainTrack ? "#" + track + " " : ""}${label} ${probabilities[best].toFixed(2)}`;
    context.fillText(text, x * k, Math.max(14, y * k - 5));
  }
}

function drawTimeline() {
  const canvas = $("timeline"), context = canvas.getContext("2d"), current = state.current;
  canvas.width = canvas.clientWidth || 1000;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!current || !current.frames.length) return;
  const end = Math.max(current.frames[current.frames.length - 1].time, 1e-6), width = canvas.width, height = canvas.height - 16;
  const x = (t) => (t / end) * (width - 2) + 1, y = (p) => 4 + (1 - p) * (height - 8);
  context.fillStyle = "#f6f7fa"; context.fillRect(0, 0, width, height);
  state.classes.forEach((name, c) => {
    context.strokeStyle = colourOf(name); context.lineWidth = 1.6; context.beginPath();
    let drawing = false;
    for (const entry of current.frames) {
      const face = (current.faces.get(entry.frame) || []).find((f) => f[1] === current.mainTrack);
      if (!face) { drawing = false; continue; }
      const point = [x(entry.time), y(face[7][c])];
      if (drawing) context.lineTo(...point); else context.moveTo(...point);
      drawing = true;
    }
    context.stroke();
  });
  context.fillStyle = "#667"; context.font = "11px system-ui, sans-serif";
  context.fillText("0 s", 2, canvas.height - 3); context.fillText(`${end.toFixed(1)} s`, width - 40, canvas.height - 3);
  const cursor = x(current.frames[state.index].time);
  context.strokeStyle = "#111"; context.lineWidth = 2; context.beginPath(); context.moveTo(cursor, 0); context.lineTo(cursor, height); context.stroke();
  canvas.dataset.cursor = cursor.toFixed(1);
}

function seekFromTimeline(event) {
  const current = state.current;
  if (!current || !current.frames.length) return;
  const rect = event.target.getBoundingClientRect();
  const end = current.frames[current.frames.length - 1].time;
  showAt(indexAtTime(((event.clientX - rect.left) / rect.width) * end));
  if (state.playing) { state.clockStart = performance.now(); state.mediaStart = current.frames[state.index].time; }
}

function togglePlay() { if (state.playing) pause(); else play(); }

function play() {
  const current = state.current;
  if (!current || current.frames.length < 2 || !current.playable) return;
  if (state.index >= current.frames.length - 1) state.index = 0;
  state.playing = true; $("play").textContent = "❚❚ pause";
  state.clockStart = performance.now(); state.mediaStart = current.frames[state.index].time;
  if (!state.pending) nextPlayedFrame();
}

function pause() { state.playing = false; $("play").textContent = "▶ play"; }

// Real time: the frame due now, skipping what the server could not decode in time.
function nextPlayedFrame() {
  const current = state.current;
  if (!state.playing || state.pending || !current) return;
  const due = state.mediaStart + (performance.now() - state.clockStart) / 1000;
  const index = Math.max(state.index + 1, indexAtTime(due));
  if (index >= current.frames.length) { pause(); return; }
  const wait = (current.frames[index].time - due) * 1000;
  if (wait > 4) { setTimeout(nextPlayedFrame, wait); return; }
  showAt(index);
}

function moveInput(step) {
  if (!state.shown.length) return;
  const position = state.shown.findIndex((row) => state.current && row.number === state.current.number);
  const next = state.shown[Math.max(0, Math.min(state.shown.length - 1, position + step))];
  state.page = Math.floor(state.shown.indexOf(next) / PAGE_ROWS);
  openInput(next.number);
}

function onKey(event) {
  if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
  if (event.key === " ") { event.preventDefault(); togglePlay(); }
  else if (event.key === "ArrowRight") { pause(); showAt(state.index + 1); }
  else if (event.key === "ArrowLeft") { pause(); showAt(state.index - 1); }
  else if (event.key === "j") moveInput(1);
  else if (event.key === "k") moveInput(-1);
}

start().catch((error) => showError(String(error.message || error)));
