// plm-detect review page: draws the night's overview, the signal of the current window
// and the movement table from the JSON data in #data. No network, no libraries.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const $ = (id) => document.getElementById(id);
  const CLASS = ["PLM", "CLM", "nonCLM"];
  const COLOR = { plm: "#d62728", clm: "#888", nonclm: "#555", left: "#1f77b4", right: "#2ca02c",
    env: "#1f5fbf", rest: "#2a9d3a", onset: "#e07b00", offset: "#8e44ad", signal: "#8a8a8a",
    arousal: "#a6c", resp: "#39c", excluded: "rgba(0,0,0,0.13)", posture: "rgba(230,160,0,0.25)" };

  // ---- Decoding the companded series (report/review/pack.rs): |v| = A·(exp(c/K) − 1).
  const CODES = { u8: [0.5, 254, 1e5, 1, false], i8: [0.5, 127, 1e5, 1, true],
    u16: [0.001, 65534, 1e6, 2, false], i16: [0.001, 32767, 1e6, 2, true] };
  const tables = {};
  function table(code) {
    if (tables[code]) return tables[code];
    const [A, top, max, width, signed] = CODES[code];
    const K = top / Math.log1p(max / A);
    const n = width === 1 ? 256 : 65536;
    const t = new Float32Array(n);
    for (let c = 0; c < n; c++) {
      const s = signed && c >= n / 2 ? c - n : c;
      const nan = signed ? s === -n / 2 : c === n - 1;
      t[c] = nan ? NaN : Math.sign(s) * A * Math.expm1(Math.abs(s) / K);
    }
    tables[code] = t;
    return t;
  }
  function decode(series) {
    const text = atob(series.data);
    const t = table(series.code);
    const wide = CODES[series.code][3] === 2;
    const n = wide ? text.length >> 1 : text.length;
    const v = new Float32Array(n);
    if (wide) for (let i = 0; i < n; i++) v[i] = t[text.charCodeAt(2 * i) | (text.charCodeAt(2 * i + 1) << 8)];
    else for (let i = 0; i < n; i++) v[i] = t[text.charCodeAt(i)];
    let off = 0;
    const pieces = series.pieces.map(([t0, count]) => { const p = { t0, n: count, off }; off += count; return p; });
    return { dt: series.dt_s, pieces, v };
  }
  // Calls f(t, value) for the values of `s` from time a to b (one beyond each end).
  function each(s, a, b, f, onBreak) {
    for (const p of s.pieces) {
      const end = p.t0 + p.n * s.dt;
      if (end < a || p.t0 > b) continue;
      const i0 = Math.max(0, Math.floor((a - p.t0) / s.dt) - 1);
      const i1 = Math.min(p.n, Math.ceil((b - p.t0) / s.dt) + 2);
      for (let i = i0; i < i1; i++) f(p.t0 + i * s.dt, s.v[p.off + i]);
      if (onBreak) onBreak();
    }
  }
  // The stretches a series covers, [start, end] s.
  const covered = (s) => s.pieces.map((p) => [p.t0, p.t0 + (p.n - 1) * s.dt]);

  const legs = D.legs.map((l) => ({
    name: l.name, side: l.side, fs: l.fs_hz, onsetAbove: l.onset_above, onsetFactor: l.onset_factor,
    offsetAbove: l.offset_above, posture: l.posture_changes,
    min: decode(l.min), max: decode(l.max), env: decode(l.env), rest: decode(l.rest),
    margin: decode(l.margin), fine: decode(l.fine), fineEnv: decode(l.fine_env),
  }));
  for (const l of legs) l.fineSpans = covered(l.fine);
  const lms = D.lms.map(([on, off, leg, cand], i) => ({ i, on, off, leg, cand }));
  const cands = D.candidates.map(([on, off, legsText, cls, series, imi, stage, resp, arousal], i) =>
    ({ i, on, off, legsText, cls, series, imi, stage, resp, arousal }));
  const epoch = D.epoch_s > 0 ? D.epoch_s : 30;
  const state = { start: 0, win: epoch, amp: null, lm: -1, cand: -1 };

  // ---- Time.
  const pad2 = (n) => String(n).padStart(2, "0");
  function hms(s, withSeconds = true) {
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return withSeconds ? `${pad2(h)}:${pad2(m)}:${pad2(sec)}` : `${pad2(h)}:${pad2(m)}`;
  }
  // The clock (or elapsed) label of time t, s.
  function clock(t, withSeconds = true) {
    if (D.start) return hms(((D.start[1] + t) % 86400 + 86400) % 86400, withSeconds);
    return (t < 0 ? "-" : "") + hms(Math.abs(t), withSeconds);
  }
  const clockName = D.start ? `clock time (recording from ${D.start[0]})` : "time from the start of the recording (h:mm:ss)";

  // ---- Canvas helpers.
  function fit(canvas, cssHeight) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(300, canvas.parentElement.clientWidth - 2);
    canvas.style.height = cssHeight + "px";
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(cssHeight * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#fff";
    g.fillRect(0, 0, w, cssHeight);
    return { g, w, h: cssHeight };
  }
  // `text` cut with an ellipsis to at most `width` px in `g`'s font (the full name is in
  // the summary).
  function clip(g, text, width) {
    if (g.measureText(text).width <= width) return text;
    let t = text;
    while (t.length > 1 && g.measureText(t + "\u2026").width > width) t = t.slice(0, -1);
    return t + "\u2026";
  }
  function triangle(g, x, bottom, size) {
    g.beginPath(); g.moveTo(x - size, bottom); g.lineTo(x + size, bottom); g.lineTo(x, bottom - 1.6 * size); g.closePath(); g.fill();
  }
  // A candidate's mark, told apart by shape: PLM tall bar and triangle, CLM half bar,
  // nonCLM hollow dashed box.
  function candidateMark(g, c, x0, x1, top, h) {
    const w = Math.max(1, x1 - x0);
    if (c.cls === 0) {
      g.fillStyle = COLOR.plm; g.fillRect(x0, top + 5, w, h - 5); triangle(g, x0 + w / 2, top + 5, 3);
    } else if (c.cls === 1) {
      g.fillStyle = COLOR.clm; g.fillRect(x0, top + h / 2, w, h / 2);
    } else {
      g.strokeStyle = COLOR.nonclm; g.setLineDash([2, 2]); g.lineWidth = 1;
      g.strokeRect(x0 + 0.5, top + 5.5, Math.max(2, w - 1), h - 6); g.setLineDash([]);
    }
  }

  // ---- Overview.
  const LEFT = 78, RIGHT = 10;
  const overview = { rows: [], canvas: null };
  function drawOverview() {
    const c = $("overview");
    const rows = [];
    if (D.hypnogram.length) rows.push(["hypnogram", 54]);
    if (D.arousals.length) rows.push(["arousals", 10]);
    if (D.respiratory.length) rows.push(["respiratory", 10]);
    for (const l of legs) rows.push(["leg:" + l.side, 12]);
    if (!legs.length) rows.push(["LMs", 12]);
    rows.push(["candidates", 20], ["series", 7]);
    let y = 6;
    const placed = rows.map(([name, h]) => { const r = { name, y, h }; y += h + 5; return r; });
    const height = y + 24;
    const { g, w } = fit(c, height);
    const x = (t) => LEFT + (t / D.duration_s) * (w - LEFT - RIGHT);
    overview.x = x; overview.w = w; overview.h = height; overview.bottom = y;
    overview.t = (px) => ((px - LEFT) / (w - LEFT - RIGHT)) * D.duration_s;
    for (const [a, b] of D.excluded) { g.fillStyle = COLOR.excluded; g.fillRect(x(a), 2, Math.max(1, x(b) - x(a)), y - 4); }
    g.textBaseline = "middle";
    for (const r of placed) {
      const label = r.name.startsWith("leg:") ? r.name.slice(4) + " LMs" : r.name;
      g.fillStyle = "#444"; g.font = "11px system-ui, sans-serif";
      if (r.name !== "hypnogram") g.fillText(label, 4, r.y + r.h / 2);
      if (r.name === "hypnogram") {
        const levels = ["W", "R", "N1", "N2", "N3"];
        g.font = "9px system-ui, sans-serif";
        levels.forEach((s, i) => g.fillText(s, LEFT - 20, r.y + 4 + i * 12));
        g.fillText("hypnogram", 4, r.y + 28);
        g.strokeStyle = "#345"; g.lineWidth = 1.2; g.beginPath();
        let first = true;
        for (const [a, b, s] of D.hypnogram) {
          const yy = r.y + 4 + Math.max(0, levels.indexOf(s)) * 12;
          if (first) { g.moveTo(x(a), yy); first = false; } else g.lineTo(x(a), yy);
          g.lineTo(x(b), yy);
        }
        g.stroke();
      } else if (r.name === "arousals") {
        g.fillStyle = COLOR.arousal;
        for (const [a, b] of D.arousals) g.fillRect(x(a), r.y, Math.max(1, x(b) - x(a)), r.h);
      } else if (r.name === "respiratory") {
        g.fillStyle = COLOR.resp;
        for (const [a, b] of D.respiratory) g.fillRect(x(a), r.y, Math.max(1, x(b) - x(a)), r.h);
      } else if (r.name.startsWith("leg:") || r.name === "LMs") {
        const k = legs.findIndex((l) => "leg:" + l.side === r.name);
        g.fillStyle = k >= 0 ? COLOR[legs[k].side] || COLOR.left : COLOR.left;
        for (const m of lms) if (k < 0 || m.leg === k) g.fillRect(x(m.on), r.y, Math.max(1, x(m.off) - x(m.on)), r.h);
        if (k >= 0) { g.fillStyle = COLOR.posture; for (const [a, b] of legs[k].posture) g.fillRect(x(a), r.y - 2, Math.max(1, x(b) - x(a)), r.h + 4); }
      } else if (r.name === "candidates") {
        for (const cm of cands) candidateMark(g, cm, x(cm.on), x(cm.off), r.y, r.h);
      } else if (r.name === "series") {
        g.fillStyle = "rgba(214,39,40,0.55)";
        for (const [, a, b] of D.series) g.fillRect(x(a), r.y, Math.max(1, x(b) - x(a)), r.h);
      }
    }
    // Time axis: hours (or finer for short recordings), on the clock's whole steps.
    const step = [3600, 1800, 600, 300, 60].find((s) => D.duration_s / s >= 4) || 60;
    const tod = D.start ? D.start[1] : 0;
    g.textAlign = "center"; g.textBaseline = "top"; g.fillStyle = "#444"; g.strokeStyle = "#ddd"; g.lineWidth = 1;
    for (let t = (step - (tod % step)) % step; t <= D.duration_s; t += step) {
      g.beginPath(); g.moveTo(x(t), 2); g.lineTo(x(t), y); g.stroke();
      g.fillText(clock(t, false), x(t), y + 1);
    }
    g.fillStyle = "#777"; g.fillText(clockName, LEFT + (w - LEFT - RIGHT) / 2, y + 12); g.textAlign = "left";
    overview.image = g.getImageData(0, 0, c.width, c.height);
    overview.g = g;
  }
  function drawViewport() {
    const g = overview.g;
    g.putImageData(overview.image, 0, 0);
    const x0 = overview.x(state.start), x1 = overview.x(state.start + state.win);
    g.fillStyle = "rgba(255,200,0,0.25)"; g.strokeStyle = "#e0a000"; g.lineWidth = 1.5;
    g.fillRect(x0, 1, Math.max(2, x1 - x0), overview.bottom - 2);
    g.strokeRect(x0, 1, Math.max(2, x1 - x0), overview.bottom - 2);
  }

  // ---- Signal pane.
  const LANE = 170, CONTEXT = 26, AXIS = 34;
  function onsetLine(l, rest, margin) {
    const onset = l.onsetFactor == null ? l.onsetAbove : Math.max(l.onsetAbove, l.onsetFactor * margin);
    return rest + onset;
  }
  function niceStep(v) {
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  }
  // The automatic scale: the onset level times 2.5 over the window, on a 1-2-5 step.
  function autoAmp() {
    let top = 0;
    for (const l of legs) {
      const vals = [];
      each(l.rest, state.start, state.start + state.win, (t, r) => { if (isFinite(r)) vals.push(r); });
      vals.sort((a, b) => a - b);
      const r = vals.length ? vals[vals.length >> 1] : 0;
      top = Math.max(top, 2.5 * (r + l.onsetAbove));
    }
    return niceStep(Math.max(top, 1));
  }
  function drawSignal() {
    const t0 = performance.now();
    const box = $("signal");
    if (!legs.length) { box.style.display = "none"; $("legend").style.display = "none"; return; }
    const { g, w, h } = fit($("signal-canvas"), CONTEXT + legs.length * LANE + AXIS);
    const a = state.start, b = state.start + state.win;
    const x = (t) => LEFT + ((t - a) / state.win) * (w - LEFT - RIGHT);
    const tx = (px) => a + ((px - LEFT) / (w - LEFT - RIGHT)) * state.win;
    const amp = state.amp || autoAmp();
    $("amp").textContent = `${amp} ${D.unit}`;
    // Context row: stage, arousals, respiratory events.
    g.textBaseline = "middle";
    g.save(); g.beginPath(); g.rect(LEFT, 0, w - LEFT - RIGHT, CONTEXT); g.clip();
    for (const [s0, s1, st] of D.hypnogram) {
      if (s1 < a || s0 > b) continue;
      g.fillStyle = "#eef"; g.fillRect(x(s0), 2, x(s1) - x(s0) - 1, 10);
      g.fillStyle = "#345"; g.fillText(st, Math.max(LEFT, x(s0)) + 3, 7);
    }
    for (const [e0, e1] of D.arousals) if (e1 >= a && e0 <= b) { g.fillStyle = COLOR.arousal; g.fillRect(x(e0), 14, x(e1) - x(e0), 5); }
    for (const [e0, e1, kind] of D.respiratory) if (e1 >= a && e0 <= b) {
      g.fillStyle = COLOR.resp; g.fillRect(x(e0), 20, x(e1) - x(e0), 5);
      g.fillStyle = "#135"; g.fillText(kind, Math.max(LEFT, x(e0)) + 2, 15);
    }
    g.restore();
    g.fillStyle = "#444"; g.fillText("stage", 4, 7); g.fillText("arousal/resp.", 4, 20);
    legs.forEach((l, k) => drawLane(g, l, k, CONTEXT + k * LANE, x, tx, w, amp));
    // Time axis.
    const bottom = CONTEXT + legs.length * LANE;
    const step = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => state.win / s <= 12) || 600;
    g.strokeStyle = "#888"; g.fillStyle = "#444"; g.textAlign = "center"; g.textBaseline = "top"; g.lineWidth = 1;
    const tod = D.start ? D.start[1] : 0;
    for (let t = Math.ceil((a + tod) / step) * step - tod; t <= b + 1e-9; t += step) {
      g.beginPath(); g.moveTo(x(t), bottom); g.lineTo(x(t), bottom + 4); g.stroke();
      g.fillText(clock(t, true) + (step < 1 ? "." + Math.round(((t + tod) % 1) * 10) : ""), x(t), bottom + 5);
    }
    g.fillStyle = "#777"; g.fillText(clockName, LEFT + (w - LEFT - RIGHT) / 2, bottom + 19); g.textAlign = "left";
    const ms = performance.now() - t0;
    box.dataset.renderMs = ms.toFixed(1);
  }
  function inSpans(spans, t) { for (const [s0, s1] of spans) if (t >= s0 && t <= s1) return true; return false; }
  function drawLane(g, l, k, top, x, tx, w, amp) {
    const a = state.start, b = state.start + state.win;
    // EMG swings both ways; an accelerometer magnitude is never negative.
    const unsigned = D.unit === "mg";
    const zero = top + LANE * (unsigned ? 0.9 : 0.58), scale = (LANE * (unsigned ? 0.8 : 0.52)) / amp;
    const y = (v) => zero - v * scale;
    g.save();
    g.beginPath(); g.rect(LEFT, top, w - LEFT - RIGHT, LANE); g.clip();
    g.strokeStyle = "#eee"; g.beginPath(); g.moveTo(LEFT, top + 0.5); g.lineTo(w, top + 0.5); g.stroke();
    // Excluded stretches and posture changes.
    for (const [e0, e1] of D.excluded) if (e1 >= a && e0 <= b) { g.fillStyle = COLOR.excluded; g.fillRect(x(e0), top, x(e1) - x(e0), LANE); }
    for (const [e0, e1] of l.posture) if (e1 >= a && e0 <= b) { g.fillStyle = COLOR.posture; g.fillRect(x(e0), top, x(e1) - x(e0), LANE); }
    // Leg movements, shaded by class.
    for (const m of lms) {
      if (m.leg !== k || m.off < a || m.on > b) continue;
      const c = cands[m.cand];
      const cls = c ? c.cls : 2;
      g.fillStyle = ["rgba(214,39,40,0.13)", "rgba(120,120,120,0.16)", "rgba(240,200,60,0.18)"][cls];
      g.fillRect(x(m.on), top, Math.max(1, x(m.off) - x(m.on)), LANE);
      if (m.i === state.lm) { g.strokeStyle = "#e0a000"; g.lineWidth = 2; g.strokeRect(x(m.on), top + 1, x(m.off) - x(m.on), LANE - 2); }
    }
    // The signal: the full-rate samples where they are kept (a line, or per pixel column
    // their minimum and maximum when a column holds several), elsewhere the band between
    // the bins' minima and maxima.
    const binW = l.min.dt;
    const bins = [];
    each(l.min, a, b, (t, v) => bins.push([t + binW / 2, v, NaN]));
    let j = 0;
    each(l.max, a, b, (t, v) => { if (bins[j]) bins[j][2] = v; j++; });
    g.fillStyle = COLOR.signal; g.strokeStyle = COLOR.signal; g.lineWidth = 1;
    let run = [];
    const flush = () => {
      if (run.length) {
        g.beginPath();
        run.forEach(([t, , hi], i) => (i ? g.lineTo(x(t), y(hi)) : g.moveTo(x(t), y(hi))));
        for (let i = run.length - 1; i >= 0; i--) g.lineTo(x(run[i][0]), Math.max(y(run[i][1]), y(run[i][2]) + 1));
        g.closePath(); g.fill(); g.stroke();
      }
      run = [];
    };
    for (const bin of bins) {
      if (!isFinite(bin[1]) || !isFinite(bin[2]) || inSpans(l.fineSpans, bin[0])) flush();
      else run.push(bin);
    }
    flush();
    const perPx = (state.win * l.fs) / (w - LEFT - RIGHT);
    g.beginPath();
    if (perPx < 1.5) {
      let pen = false;
      each(l.fine, a, b, (t, v) => {
        if (!isFinite(v)) { pen = false; return; }
        if (pen) g.lineTo(x(t), y(v)); else { g.moveTo(x(t), y(v)); pen = true; }
      }, () => { pen = false; });
    } else {
      const cols = Math.ceil(w - LEFT - RIGHT);
      const lo = new Float32Array(cols).fill(NaN), hi = new Float32Array(cols).fill(NaN);
      let prev = NaN;
      each(l.fine, a, b, (t, v) => {
        const c = Math.floor(x(t) - LEFT);
        if (c < 0 || c >= cols || !isFinite(v)) { prev = NaN; return; }
        // Each column also reaches the previous sample, so that the trace has no holes.
        const from = isFinite(prev) ? prev : v;
        if (!(lo[c] <= Math.min(v, from))) lo[c] = Math.min(v, from);
        if (!(hi[c] >= Math.max(v, from))) hi[c] = Math.max(v, from);
        prev = v;
      }, () => { prev = NaN; });
      for (let c = 0; c < cols; c++) {
        if (!isFinite(lo[c])) continue;
        g.moveTo(LEFT + c + 0.5, y(hi[c])); g.lineTo(LEFT + c + 0.5, Math.max(y(lo[c]), y(hi[c]) + 1));
      }
    }
    g.stroke();
    // Levels: rest, onset, offset margin.
    const levels = [];
    const margins = [];
    each(l.rest, a, b, (t, v) => levels.push([t, v]));
    each(l.margin, a, b, (t, v) => margins.push(v));
    const line = (color, dash, width, value) => {
      g.strokeStyle = color; g.setLineDash(dash); g.lineWidth = width; g.beginPath();
      let pen = false;
      levels.forEach(([t, r], i) => {
        const v = value(r, margins[i]);
        if (!isFinite(v)) { pen = false; return; }
        if (pen) g.lineTo(x(t), y(v)); else { g.moveTo(x(t), y(v)); pen = true; }
      });
      g.stroke(); g.setLineDash([]);
    };
    line(COLOR.rest, [], 1.5, (r) => r);
    line(COLOR.onset, [6, 3], 1.5, (r, m) => onsetLine(l, r, m));
    line(COLOR.offset, [2, 3], 1.5, (r, m) => r + m);
    // The envelope: per block where kept, else the bins' maxima.
    g.strokeStyle = COLOR.env; g.lineWidth = 1.6; g.beginPath();
    let pen = false;
    const brk = () => { pen = false; };
    each(l.env, a, b, (t, v) => {
      const tc = t + l.env.dt / 2;
      if (!isFinite(v) || inSpans(l.fineSpans, tc)) { pen = false; return; }
      if (pen) g.lineTo(x(tc), y(v)); else { g.moveTo(x(tc), y(v)); pen = true; }
    }, brk);
    each(l.fineEnv, a, b, (t, v) => {
      if (!isFinite(v)) { pen = false; return; }
      if (pen) g.lineTo(x(t), y(v)); else { g.moveTo(x(t), y(v)); pen = true; }
    }, brk);
    g.stroke();
    // Labels of the movements.
    g.textBaseline = "top"; g.font = "11px system-ui, sans-serif";
    for (const m of lms) {
      if (m.leg !== k || m.off < a || m.on > b) continue;
      const c = cands[m.cand];
      let text = `LM ${m.i + 1}`;
      if (c) {
        text += ` · ${CLASS[c.cls]}`;
        if (c.series != null) text += ` s${c.series}`;
        if (c.imi != null) text += ` · IMI ${c.imi.toFixed(1)} s`;
        if (c.resp) text += " · resp.";
        if (c.arousal) text += " · arousal";
      }
      g.fillStyle = c && c.cls === 0 ? "#a00" : "#333";
      g.fillText(text, Math.max(LEFT + 2, x(m.on) + 2), top + 4);
      g.fillText(`${(m.off - m.on).toFixed(2)} s`, Math.max(LEFT + 2, x(m.on) + 2), top + 17);
    }
    g.restore();
    // Lane label and amplitude scale.
    g.fillStyle = "#222"; g.textBaseline = "middle";
    g.fillText(clip(g, l.name, LEFT - 10), 4, top + LANE - 34);
    g.fillStyle = "#777";
    g.fillText(`${l.side} leg`, 4, top + LANE - 20);
    g.strokeStyle = "#999"; g.lineWidth = 1; g.beginPath();
    g.moveTo(LEFT - 4, y(0)); g.lineTo(LEFT - 4, y(amp)); g.stroke();
    g.textAlign = "right";
    g.fillText(`${amp} ${D.unit}`, LEFT - 7, y(amp) + 6);
    g.fillText("0", LEFT - 7, y(0));
    g.textAlign = "left";
  }

  // ---- The view.
  function clampStart(s) {
    const aligned = state.win === epoch;
    const last = aligned ? Math.floor(Math.max(0, D.duration_s - 1e-9) / epoch) * epoch : Math.max(0, D.duration_s - state.win);
    return Math.max(0, Math.min(s, last));
  }
  function setView(start) {
    state.start = clampStart(start);
    const box = $("signal");
    box.dataset.viewStartS = state.start.toFixed(3);
    box.dataset.viewEndS = (state.start + state.win).toFixed(3);
    box.dataset.currentLm = String(state.lm);
    render();
    // The view in the address (review.html#t=…&w=…), so that a reload or a shared link
    // opens it again.
    try { history.replaceState(null, "", `#t=${state.start.toFixed(2)}&w=${state.win}`); } catch (e) { /* file: URLs may refuse */ }
  }
  function showTime(t) {
    setView(state.win === epoch ? Math.floor(t / epoch) * epoch : t - state.win / 2);
  }
  function showLm(i) {
    if (i < 0 || i >= lms.length) { status(i < 0 ? "no earlier leg movement" : "no later leg movement"); return; }
    state.lm = i; state.cand = lms[i].cand;
    setView(lms[i].on - state.win / 3);
  }
  const visible = (t) => t >= state.start && t <= state.start + state.win;
  function nextLm(dir) {
    const cur = lms[state.lm];
    if (dir > 0) {
      const anchor = cur && visible(cur.on) ? cur.on : state.start - 1e-9;
      let i = lms.findIndex((m) => m.on > anchor || (m.on === anchor && m.i > state.lm));
      showLm(i < 0 ? lms.length : i);
    } else {
      const anchor = cur && visible(cur.on) ? cur.on : state.start + state.win;
      let i = -1;
      for (const m of lms) if (m.on < anchor || (m.on === anchor && m.i < state.lm)) i = m.i;
      showLm(i);
    }
  }
  function nextSeries(dir) {
    const here = cands[state.cand] ? cands[state.cand].on : state.start + (dir > 0 ? 0 : state.win);
    const list = dir > 0 ? D.series.filter((s) => s[1] > here + 1e-9) : D.series.filter((s) => s[1] < here - 1e-9).reverse();
    if (!list.length) { status(D.series.length ? "no further PLM series" : "no PLM series"); return; }
    const first = lms.findIndex((m) => m.on >= list[0][1] - 1e-9);
    if (first >= 0) showLm(first);
  }
  function step(dir) {
    const s = state.win === epoch ? Math.floor(state.start / epoch + 1e-9) * epoch : state.start;
    const next = dir > 0 ? s + state.win : (s < state.start - 1e-9 ? s : s - state.win);
    setView(next);
  }
  function status(text) { $("status").textContent = text; }
  function render() {
    drawViewport();
    drawSignal();
    const a = state.start, b = state.start + state.win;
    const ep = Math.floor(a / epoch + 1e-9) + 1;
    const stage = D.hypnogram.find(([s0, s1]) => a + 1e-9 >= s0 && a < s1);
    $("view-title").textContent = (state.win === epoch && Math.abs(a - (ep - 1) * epoch) < 1e-6 ? `epoch ${ep} of ${Math.ceil(D.duration_s / epoch)}` : `${state.win} s window`) +
      (stage ? ` · ${stage[2]}` : "") + ` · ${clock(a)}–${clock(b)}`;
    for (const row of tableRows) {
      const c = cands[row.cand];
      row.el.classList.toggle("in-view", c.off >= a && c.on <= b);
      row.el.classList.toggle("current", row.cand === state.cand);
    }
    const cur = tableRows[state.cand];
    if (cur && render.scrollTo !== state.cand) { render.scrollTo = state.cand; scrollRow(cur.el); }
  }
  function scrollRow(el) {
    const box = $("table-scroll");
    const top = el.offsetTop - box.clientHeight / 2;
    box.scrollTop = Math.max(0, top);
  }

  // ---- Header, table, summary.
  const S = D.indices || {};
  const idx = (v) => (v == null ? "n/a" : `${v.toFixed(1)}/h`);
  $("title").textContent = `${D.title} — plm-detect ${D.version}`;
  document.title = `${D.title} · plm-detect review`;
  const facts = [
    ["PLMS index", idx(S.plms_index)], ["PLMW index", idx(S.plmw_index)], ["CLMS index", idx(S.clms_index)],
    ["periodicity", S.periodicity_index == null ? "n/a" : S.periodicity_index.toFixed(2)],
    ["LMs", S.lm_count], ["PLMs", S.plm_count], ["series", S.series_count],
    ["sleep", S.total_sleep_time_h == null ? "n/a" : `${S.total_sleep_time_h.toFixed(2)} h`],
  ];
  for (const [k, v] of facts) { const s = document.createElement("span"); s.innerHTML = `${k} <b></b>`; s.lastChild.textContent = String(v); $("indices").appendChild(s); }
  $("summary").textContent = D.summary;
  for (const n of D.notes) { const li = document.createElement("li"); li.textContent = n; $("notes").appendChild(li); }
  for (const [k, v] of Object.entries(D.rules || {})) {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td>";
    tr.firstChild.textContent = k; tr.lastChild.textContent = typeof v === "object" ? JSON.stringify(v) : String(v);
    $("rules").appendChild(tr);
  }
  const legend = [["signal (full rate near movements, range per bin elsewhere)", COLOR.signal, ""], ["envelope", COLOR.env, ""], ["resting level", COLOR.rest, ""],
    [legs[0] && legs[0].onsetFactor != null ? `onset level (rest + max(${legs[0].onsetAbove} ${D.unit}, ${legs[0].onsetFactor} × margin))`
      : `onset level (rest + ${legs[0] ? legs[0].onsetAbove : 8} ${D.unit})`, COLOR.onset, "dash"],
    ["offset margin", COLOR.offset, "dot"], ["PLM", "rgba(214,39,40,0.3)", "box"], ["CLM", "rgba(120,120,120,0.35)", "box"],
    ["nonCLM", "rgba(240,200,60,0.4)", "box"], ["excluded", COLOR.excluded, "box"], ["arousal", COLOR.arousal, "box"], ["respiratory", COLOR.resp, "box"]];
  for (const [text, c, kind] of legend) {
    const s = document.createElement("span"); s.textContent = text; s.className = kind; s.style.setProperty("--c", c); $("legend").appendChild(s);
  }
  const tableRows = [];
  const body = $("movements").tBodies[0];
  const frag = document.createDocumentFragment();
  for (const c of cands) {
    const tr = document.createElement("tr");
    const cells = [c.i + 1, clock(c.on), (c.off - c.on).toFixed(2), c.legsText, CLASS[c.cls], c.series == null ? "" : c.series,
      c.imi == null ? "" : c.imi.toFixed(1), c.stage || "", c.resp ? "yes" : "", c.arousal ? "yes" : ""];
    for (const v of cells) { const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td); }
    tr.children[4].className = ["plm", "clm", "nonclm"][c.cls];
    tr.addEventListener("click", () => showCandidate(c.i));
    tableRows.push({ el: tr, cand: c.i });
    frag.appendChild(tr);
  }
  body.appendChild(frag);
  // A movement's view: a window it fits in, the movement a third of the way in.
  function showCandidate(i) {
    const c = cands[i];
    const dur = c.off - c.on;
    state.win = [10, 30, 60, 120, 300].find((w) => w >= dur * 1.6 + 4) || 300;
    $("window").value = String(state.win);
    state.cand = i;
    state.lm = lms.findIndex((m) => m.cand === i);
    setView(c.on - Math.min(state.win / 3, (state.win - dur) / 2));
  }

  // ---- Controls and keys.
  $("prev-epoch").onclick = () => step(-1);
  $("next-epoch").onclick = () => step(1);
  $("prev-lm").onclick = () => nextLm(-1);
  $("next-lm").onclick = () => nextLm(1);
  $("next-series").onclick = () => nextSeries(1);
  const AMPS = [];
  for (let e = -1; e <= 5; e++) for (const m of [1, 2, 5]) AMPS.push(m * Math.pow(10, e));
  function zoomAmp(dir) {
    const cur = state.amp || autoAmp();
    const i = AMPS.findIndex((v) => v >= cur - 1e-9);
    state.amp = AMPS[Math.max(0, Math.min(AMPS.length - 1, (i < 0 ? AMPS.length - 1 : i) + dir))];
    render();
  }
  $("amp-up").onclick = () => zoomAmp(-1);
  $("amp-down").onclick = () => zoomAmp(1);
  $("amp-auto").onclick = () => { state.amp = null; render(); };
  $("window").onchange = (e) => {
    const centre = state.start + state.win / 2;
    state.win = Number(e.target.value);
    showTime(centre);
  };
  function parseTime(text) {
    text = text.trim();
    let m = /^e(?:poch)?\s*(\d+)$/i.exec(text);
    if (m) return (Number(m[1]) - 1) * epoch;
    m = /^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$/.exec(text);
    if (m) {
      const t = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] || 0);
      return D.start ? (((t - D.start[1]) % 86400) + 86400) % 86400 : t;
    }
    m = /^(\d+(?:\.\d+)?)\s*(s|min|m|h)?$/.exec(text);
    if (m) return Number(m[1]) * ({ h: 3600, min: 60, m: 60 }[m[2]] || 1);
    return null;
  }
  $("goto-form").onsubmit = (e) => {
    e.preventDefault();
    const t = parseTime($("goto").value);
    if (t == null || !(t >= 0 && t <= D.duration_s)) {
      status(t == null ? `cannot read “${$("goto").value}”: give hh:mm[:ss], 90 s, 12 min or e123` : "that time is outside the recording");
      return;
    }
    status("");
    showTime(t);
    $("goto").blur();
  };
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = {
      ArrowRight: () => step(1), PageDown: () => step(1), ArrowLeft: () => step(-1), PageUp: () => step(-1),
      n: () => nextLm(1), p: () => nextLm(-1), s: () => nextSeries(1), S: () => nextSeries(-1),
      "+": () => zoomAmp(-1), "=": () => zoomAmp(-1), "-": () => zoomAmp(1), a: () => { state.amp = null; render(); },
      g: () => $("goto").focus(), Home: () => setView(0), End: () => setView(D.duration_s),
    };
    const f = keys[e.key];
    if (f) { e.preventDefault(); status(""); f(); }
  });
  $("overview").addEventListener("click", (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    const t = overview.t(e.clientX - r.left);
    if (t >= 0 && t <= D.duration_s) { state.lm = -1; state.cand = -1; showTime(t); }
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { drawOverview(); render(); }, 100); });
  drawOverview();
  // The view the address asks for: #t=TIME (as "go to" reads it), #w=SECONDS, #lm=N.
  const ask = new URLSearchParams(location.hash.slice(1));
  const w0 = Number(ask.get("w"));
  if ([10, 30, 60, 120, 300].includes(w0)) { state.win = w0; $("window").value = String(w0); }
  const lm0 = Number(ask.get("lm"));
  const t0 = ask.has("t") ? parseTime(ask.get("t")) : null;
  if (lm0 >= 1 && lm0 <= lms.length) showLm(lm0 - 1);
  else setView(t0 != null && t0 >= 0 ? t0 : 0);
})();
