// vemo live page: state pushed by server-sent events; the frame fetched when the last one has loaded.
"use strict";
const $ = (id) => document.getElementById(id);
let meta = null;
let points = []; // [time_s, {class: smoothed probability}] of the main face, the last minute
let frameLoading = false;
let wantedFrame = null;

function text(id, value) { $(id).textContent = value; }

function buildBars() {
  const bars = $("bars");
  bars.replaceChildren();
  meta.classes.forEach((name, i) => {
    const row = document.createElement("div");
    row.className = "bar";
    row.dataset.class = name;
    const label = document.createElement("span");
    label.textContent = name;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.background = meta.colours[i % meta.colours.length];
    fill.style.width = "0%";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = "–";
    row.append(label, track, value);
    bars.append(row);
  });
  const legend = $("legend");
  legend.replaceChildren();
  meta.classes.forEach((name, i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = meta.colours[i % meta.colours.length];
    item.append(swatch, document.createTextNode(name));
    legend.append(item);
  });
}

function showBars(probabilities) {
  for (const row of $("bars").children) {
    const p = probabilities ? probabilities[row.dataset.class] : undefined;
    row.querySelector(".fill").style.width = p === undefined ? "0%" : `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = p === undefined ? "–" : p.toFixed(2);
  }
}

function drawTimeline() {
  const canvas = $("timeline");
  const width = canvas.width, height = canvas.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const left = 36, bottom = height - 22, top = 8, span = meta.history_seconds;
  ctx.strokeStyle = "#dde"; ctx.fillStyle = "#667"; ctx.font = "12px system-ui"; ctx.lineWidth = 1;
  for (const p of [0, 0.5, 1]) {
    const y = bottom - p * (bottom - top);
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(width, y); ctx.stroke();
    ctx.fillText(p.toFixed(1), 4, y + 4);
  }
  const now = points.length ? points[points.length - 1][0] : 0;
  const x = (t) => left + (1 - (now - t) / span) * (width - left);
  for (let s = 0; s <= span; s += 10) {
    ctx.fillText(s === 0 ? "now" : `-${s} s`, x(now - s) - (s === 0 ? 24 : 12), height - 4);
  }
  meta.classes.forEach((name, i) => {
    ctx.strokeStyle = meta.colours[i % meta.colours.length];
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    for (const [t, probabilities] of points) {
      const p = probabilities[name];
      if (p === undefined) { drawing = false; continue; } // no face: a gap in the line
      const y = bottom - p * (bottom - top);
      if (drawing) ctx.lineTo(x(t), y); else ctx.moveTo(x(t), y);
      drawing = true;
    }
    ctx.stroke();
  });
}

function loadFrame(frame) {
  wantedFrame = frame;
  if (frameLoading) return; // the browser is busy: skip to the newest when it is done
  frameLoading = true;
  const image = $("frame");
  const shown = wantedFrame;
  image.onload = image.onerror = () => {
    frameLoading = false;
    image.dataset.frame = String(shown);
    if (wantedFrame !== shown) loadFrame(wantedFrame);
  };
  image.src = `/api/frame.jpg?f=${shown}`;
}

function showStats(result, summary) {
  const lines = [];
  if (result) {
    lines.push(`frame ${result.frame} at ${result.time_s.toFixed(2)} s · latency ${result.latency_ms.toFixed(0)} ms`);
    lines.push(`${result.captured} captured · ${result.dropped} dropped`);
  }
  if (summary) {
    lines.push(`ended: ${summary.ended}${summary.failure ? " — " + summary.failure : ""}`);
    lines.push(`${summary.analysed} analysed at ${summary.analysed_fps} fps · latency p50 ${summary.latency_p50_ms} ms, p95 ${summary.latency_p95_ms} ms`);
  }
  $("stats").replaceChildren(...lines.map((line) => { const d = document.createElement("div"); d.textContent = line; return d; }));
}

function onState(state) {
  const result = state.result;
  if (!result) return;
  const verdict = result.verdict;
  text("verdict", verdict.label || "no face");
  showBars(verdict.label ? verdict.probabilities : null);
  const main = result.faces.find((face) => face.track === verdict.track);
  const last = points.length ? points[points.length - 1][0] : -Infinity;
  if (result.time_s > last) points.push([result.time_s, main ? main.smoothed : {}]);
  while (points.length && points[0][0] < result.time_s - meta.history_seconds) points.shift();
  drawTimeline();
  loadFrame(result.frame);
  text("state", state.running ? `live · ${result.faces.length} face(s)` : "ended");
  document.body.dataset.frame = String(result.frame);
  showStats(result, state.summary);
}

async function start() {
  meta = await (await fetch("/api/meta")).json();
  text("source", meta.source);
  text("model", `model ${meta.model} · ${meta.classes.join(", ")}`);
  text("verdict-seconds", String(meta.verdict_seconds));
  text("smooth-seconds", String(meta.smooth_seconds));
  if (meta.synthetic_model) {
    $("warning").hidden = false;
    text("warning", "This model was trained on a SYNTHETIC corpus: its verdicts on real faces mean little.");
  }
  buildBars();
  points = (await (await fetch("/api/history")).json()).points;
  drawTimeline();
  const events = new EventSource("/api/events");
  events.addEventListener("state", (e) => onState(JSON.parse(e.data)));
  events.addEventListener("end", (e) => {
    const state = JSON.parse(e.data);
    onState(state);
    text("state", `ended: ${state.summary.ended}`);
    document.body.dataset.ended = "true";
    events.close();
  });
}

start();
