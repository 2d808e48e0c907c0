// The form editor: the blank sheet with the form's layout drawn over it (SVG in the sheet's pixel units).
// The form is fractions of the page, as scanner/form.py keeps it: line_bounds (the y of each line's edges),
// fields (x0..x1 of the page width; top..bottom of a line's height, the sub-rows) and a role per field. The
// server builds, checks and stores the form; this script only edits those numbers.
"use strict";
(function () {
  const dataNode = document.getElementById("fe-data");
  if (!dataNode) return;
  const data = JSON.parse(dataNode.textContent);
  const csrf = document.body.dataset.csrf;
  const SVG = "http://www.w3.org/2000/svg";
  const W = data.width, H = data.height;
  const form = data.form;
  const EDGE = 0.002;      // edges closer than this (page fraction) are one boundary and move together
  const MIN_W = 0.004;     // the narrowest field, as a fraction of the page width
  const MIN_ROW = 0.05;    // the thinnest sub-row, as a fraction of a line
  const MIN_LINE = 0.005;  // the thinnest line, as a fraction of the page height
  const STEP = 0.002;      // one arrow-key move
  const svg = document.getElementById("fe-svg");
  const layer = document.getElementById("fe-layer");
  const status = document.getElementById("fe-status");
  const roleKeys = Object.fromEntries(data.roles.map((r) => [r.key, r.value]));
  const roleLabels = Object.fromEntries(data.roles.map((r) => [r.value, r.label]));
  const SHORT = { line_number: "no.", other: "other" };  // in the boxes: narrow columns
  let selected = readingOrder()[0] ?? 0;
  let wholePage = false;
  let drag = null;
  let dirty = false;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    parent.appendChild(node);
    return node;
  }

  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("error", !!isError);
  }

  function lines() { return form.line_bounds.length - 1; }
  function left() { return Math.min(form.table[0], ...form.fields.map((f) => f.x0)); }
  function right() { return Math.max(form.table[2], ...form.fields.map((f) => f.x1)); }

  // Fields left to right, then top to bottom within a column: the order of Tab and the arrow keys.
  function readingOrder() {
    return form.fields.map((_, i) => i).sort((a, b) =>
      form.fields[a].x0 - form.fields[b].x0 || form.fields[a].top - form.fields[b].top);
  }

  function fieldBox(f, line) {
    const y0 = form.line_bounds[line], h = form.line_bounds[line + 1] - y0;
    return { x: f.x0 * W, y: (y0 + f.top * h) * H, w: (f.x1 - f.x0) * W, h: (f.bottom - f.top) * h * H };
  }

  // Drawing ---------------------------------------------------------------------------------------------

  function render() {
    const focusedField = document.activeElement && document.activeElement.closest
      && document.activeElement.closest(".fe-field") ? selected : null;
    layer.replaceChildren();
    const order = readingOrder();
    for (let line = 0; line < lines(); line++) {
      for (const i of order) drawField(i, line);
    }
    for (let line = 0; line < lines(); line++) {
      for (const i of order) drawEdges(i, line);
    }
    form.line_bounds.forEach((y, j) => {
      el("line", { class: "fe-bound", "data-bound": j, x1: (left() - 0.02) * W, x2: (right() + 0.02) * W,
                   y1: y * H, y2: y * H, "vector-effect": "non-scaling-stroke" }, layer);
    });
    if (!drag) setView();  // not while dragging: the view moving under the pointer would move the edge again
    showPanel();
    if (focusedField !== null) focusField(focusedField);
  }

  function drawField(i, line) {
    const f = form.fields[i], box = fieldBox(f, line);
    const g = el("g", { class: `fe-field fe-role-${f.role}${i === selected ? " fe-selected" : ""}`,
                        "data-field": i, "data-line": line, "data-role": f.role,
                        tabindex: line === 0 ? 0 : -1, role: "button",
                        "aria-label": `field ${roleLabels[f.role]}, line ${line + 1}` }, layer);
    el("rect", { x: box.x, y: box.y, width: box.w, height: box.h, "vector-effect": "non-scaling-stroke" }, g);
    // The role written in the box, as large as fits its height and width (0.6 em per character, roughly).
    const text = SHORT[f.role] || roleLabels[f.role];
    const lineH = (form.line_bounds[line + 1] - form.line_bounds[line]) * H;
    const size = Math.max(8, Math.min(box.h * 0.42, lineH * 0.24, box.w * 0.9 / (0.6 * text.length)));
    const label = el("text", { x: box.x + size * 0.25, y: box.y + size * 1.05, "font-size": size }, g);
    label.textContent = text;
  }

  function drawEdges(i, line) {
    const f = form.fields[i], box = fieldBox(f, line);
    const edge = (kind, x1, y1, x2, y2) => el("line", { class: `fe-edge fe-edge-${kind}`, "data-field": i,
      "data-line": line, "data-kind": kind, x1, y1, x2, y2, "vector-effect": "non-scaling-stroke" }, layer);
    edge("x0", box.x, box.y, box.x, box.y + box.h);
    edge("x1", box.x + box.w, box.y, box.x + box.w, box.y + box.h);
    if (f.top > 0) edge("top", box.x, box.y, box.x + box.w, box.y);
    if (f.bottom < 1) edge("bottom", box.x, box.y + box.h, box.x + box.w, box.y + box.h);
  }

  function setView() {
    if (wholePage) { svg.setAttribute("viewBox", `0 0 ${W} ${H}`); return; }
    const top = Math.max(0, Math.min(form.table[1], form.line_bounds[0]) - 0.03);
    const bottom = Math.min(1, form.line_bounds[lines()] + 0.03);
    svg.setAttribute("viewBox", `0 ${top * H} ${W} ${(bottom - top) * H}`);
  }

  function focusField(i) {
    const node = layer.querySelector(`.fe-field[data-field="${i}"][data-line="0"]`);
    if (node) node.focus();
  }

  // The panel: the selected field's role and edges, the lines ---------------------------------------------

  const inputs = { x0: "fe-x0", x1: "fe-x1", top: "fe-top", bottom: "fe-bottom" };

  function showPanel() {
    const f = form.fields[selected];
    document.getElementById("fe-field-name").textContent = f ? `${roleLabels[f.role]} (${readingOrder().indexOf(selected) + 1} of ${form.fields.length})` : "";
    for (const button of document.querySelectorAll("#fe-roles button")) {
      button.setAttribute("aria-pressed", String(!!f && button.dataset.role === f.role));
    }
    for (const [kind, id] of Object.entries(inputs)) {
      const input = document.getElementById(id);
      if (document.activeElement !== input && f) input.value = (f[kind] * 100).toFixed(1);
    }
    document.getElementById("fe-line-count").textContent = String(lines());
    document.getElementById("fe-remove-line").disabled = lines() <= 1;
    showBounds();
  }

  function showBounds() {
    const box = document.getElementById("fe-bounds");
    if (box.contains(document.activeElement)) return;  // never rebuild the input being typed in
    box.replaceChildren();
    form.line_bounds.forEach((y, j) => {
      const label = document.createElement("label");
      label.textContent = j === 0 ? "Top of line 1 " : `Bottom of line ${j} `;
      const input = document.createElement("input");
      Object.assign(input, { type: "number", step: "0.1", min: "0", max: "100", value: (y * 100).toFixed(1) });
      input.dataset.bound = String(j);
      input.addEventListener("change", () => { moveBound(j, Number(input.value) / 100); changed(); });
      label.appendChild(input);
      box.appendChild(label);
    });
  }

  function changed() { dirty = true; say(""); render(); }

  function select(i) {
    selected = i;
    for (const node of layer.querySelectorAll(".fe-field")) {
      node.classList.toggle("fe-selected", Number(node.dataset.field) === i);
    }
    showPanel();
  }

  function setRole(role) {
    if (!form.fields[selected] || !role) return;
    form.fields[selected].role = role;
    changed();
  }

  // Moving edges ------------------------------------------------------------------------------------------

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  // A column boundary: every field edge at the same x moves with it (a shared boundary), unless `alone`.
  function moveX(i, kind, value, alone) {
    const old = form.fields[i][kind];
    const members = [];
    form.fields.forEach((f, j) => {
      for (const side of ["x0", "x1"]) {
        if ((alone ? j === i && side === kind : Math.abs(f[side] - old) < EDGE)) members.push([f, side]);
      }
    });
    let lo = 0, hi = 1;
    for (const [f, side] of members) {
      if (side === "x1") lo = Math.max(lo, f.x0 + MIN_W); else hi = Math.min(hi, f.x1 - MIN_W);
    }
    const v = clamp(value, lo, hi);
    for (const [f, side] of members) f[side] = v;
  }

  // A sub-row boundary: the edges at the same height within the same column move together.
  function moveY(i, kind, value, alone) {
    const me = form.fields[i], old = me[kind];
    const members = [];
    form.fields.forEach((f, j) => {
      const overlaps = f.x0 < me.x1 - EDGE && f.x1 > me.x0 + EDGE;
      for (const side of ["top", "bottom"]) {
        const same = Math.abs(f[side] - old) < EDGE && overlaps && f[side] > 0 && f[side] < 1;
        if (alone ? j === i && side === kind : same) members.push([f, side]);
      }
    });
    let lo = MIN_ROW, hi = 1 - MIN_ROW;
    for (const [f, side] of members) {
      if (side === "bottom") lo = Math.max(lo, f.top + MIN_ROW); else hi = Math.min(hi, f.bottom - MIN_ROW);
    }
    const v = clamp(value, lo, hi);
    for (const [f, side] of members) f[side] = v;
  }

  function moveBound(j, value) {
    const b = form.line_bounds;
    const lo = j > 0 ? b[j - 1] + MIN_LINE : 0, hi = j < b.length - 1 ? b[j + 1] - MIN_LINE : 1;
    if (Number.isFinite(value)) b[j] = clamp(value, lo, hi);
  }

  function moveEdge(i, kind, value, alone) {
    if (!Number.isFinite(value) || !form.fields[i]) return;
    if (kind === "x0" || kind === "x1") moveX(i, kind, value, alone); else moveY(i, kind, value, alone);
  }

  function pointIn(event) {
    const p = svg.createSVGPoint();
    p.x = event.clientX; p.y = event.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }

  svg.addEventListener("pointerdown", (event) => {
    const handle = event.target.closest(".fe-edge, .fe-bound");
    if (!handle || event.button !== 0) return;
    event.preventDefault();
    const d = handle.dataset;
    drag = d.bound !== undefined ? { bound: Number(d.bound) }
      : { field: Number(d.field), kind: d.kind, line: Number(d.line), alone: event.shiftKey };
    if (drag.field !== undefined) select(drag.field);
    svg.setPointerCapture(event.pointerId);
    svg.classList.add("fe-dragging");
  });

  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const p = pointIn(event);
    if (drag.bound !== undefined) {
      moveBound(drag.bound, p.y / H);
    } else if (drag.kind === "x0" || drag.kind === "x1") {
      moveEdge(drag.field, drag.kind, p.x / W, drag.alone);
    } else {
      const y0 = form.line_bounds[drag.line], h = form.line_bounds[drag.line + 1] - y0;
      moveEdge(drag.field, drag.kind, (p.y / H - y0) / h, drag.alone);
    }
    dirty = true;
    render();
  });

  function endDrag(event) {
    if (!drag) return;
    drag = null;
    setView();
    svg.classList.remove("fe-dragging");
    if (svg.hasPointerCapture(event.pointerId)) svg.releasePointerCapture(event.pointerId);
    say("");
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  // Clicking, focusing and keys on the boxes --------------------------------------------------------------

  svg.addEventListener("click", (event) => {
    const box = event.target.closest(".fe-field");
    if (!box) return;
    select(Number(box.dataset.field));
    focusField(selected);
  });

  svg.addEventListener("focusin", (event) => {
    const box = event.target.closest(".fe-field");
    if (box && Number(box.dataset.field) !== selected) select(Number(box.dataset.field));
  });

  svg.addEventListener("keydown", (event) => {
    const box = event.target.closest(".fe-field");
    if (!box || event.ctrlKey || event.metaKey) return;
    const f = form.fields[selected];
    const key = event.key;
    if (!event.altKey && !event.shiftKey && roleKeys[key.toLowerCase()]) {
      event.preventDefault();
      setRole(roleKeys[key.toLowerCase()]);
      return;
    }
    const sign = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[key];
    if (!sign) return;
    event.preventDefault();
    const across = key === "ArrowLeft" || key === "ArrowRight";
    if (event.shiftKey && across) moveEdge(selected, "x1", f.x1 + sign * STEP, false);
    else if (event.altKey && across) moveEdge(selected, "x0", f.x0 + sign * STEP, false);
    else if (event.shiftKey && f.bottom < 1) moveEdge(selected, "bottom", f.bottom + sign * STEP * 10, false);
    else if (!event.shiftKey && !event.altKey) {
      const order = readingOrder();
      const at = order.indexOf(selected);
      selected = order[(at + sign + order.length) % order.length];
      render();
      focusField(selected);
      return;
    } else return;
    changed();
  });

  document.getElementById("fe-roles").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-role]");
    if (button) setRole(button.dataset.role);
  });

  for (const [kind, id] of Object.entries(inputs)) {
    document.getElementById(id).addEventListener("change", (event) => {
      moveEdge(selected, kind, Number(event.target.value) / 100, false);
      changed();
    });
  }

  // Fields: split one in two (the new half is 'other' until given its role), remove one ------------------------

  function split(across) {
    const f = form.fields[selected];
    if (!f) return;
    const [lo, hi, min] = across ? [f.x0, f.x1, MIN_W] : [f.top, f.bottom, MIN_ROW];
    const mid = (lo + hi) / 2;
    if (mid - lo < min) { say("this field is too small to split", true); return; }
    if (form.fields.length >= data.max_fields) { say(`a form has at most ${data.max_fields} fields`, true); return; }
    const half = { ...f, role: "other" };
    if (across) { f.x1 = half.x0 = mid; } else { f.bottom = half.top = mid; }
    form.fields.push(half);
    selected = form.fields.length - 1;
    changed();
    focusField(selected);
  }

  document.getElementById("fe-split-across").addEventListener("click", () => split(true));
  document.getElementById("fe-split-down").addEventListener("click", () => split(false));
  document.getElementById("fe-remove-field").addEventListener("click", () => {
    if (form.fields.length <= 1) { say("a form keeps at least one field", true); return; }
    form.fields.splice(selected, 1);
    selected = readingOrder()[0];
    changed();
  });

  // Lines -------------------------------------------------------------------------------------------------

  document.getElementById("fe-add-line").addEventListener("click", () => {
    const b = form.line_bounds, last = b[b.length - 1], height = last - b[b.length - 2];
    if (last + height > 1) { say("there is no room for another line below the last one", true); return; }
    b.push(last + height);
    changed();
  });

  document.getElementById("fe-remove-line").addEventListener("click", () => {
    if (lines() > 1) { form.line_bounds.pop(); changed(); }
  });

  document.getElementById("fe-view").addEventListener("click", (event) => {
    wholePage = !wholePage;
    event.target.textContent = wholePage ? "Show the table only" : "Show the whole page";
    setView();
  });

  // Saving ------------------------------------------------------------------------------------------------

  const round = (v) => Math.round(v * 1e5) / 1e5;

  function payload() {
    return {
      table: form.table.map(round), line_bounds: form.line_bounds.map(round),
      fields: form.fields.map((f) => ({ role: f.role, x0: round(f.x0), x1: round(f.x1), top: round(f.top),
                                        bottom: round(f.bottom) })),
    };
  }

  document.getElementById("fe-save").addEventListener("click", async () => {
    const name = document.getElementById("fe-name").value.trim();
    if (!name) { say("give the form a name first", true); document.getElementById("fe-name").focus(); return; }
    say("saving…");
    const response = await fetch("/admin/forms/save", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify({ name, source: data.source, form: payload(),
                             replace: document.getElementById("fe-replace").checked }),
    }).catch(() => null);
    const answer = response ? await response.json().catch(() => ({})) : {};
    if (response && response.ok) {
      dirty = false;
      say(answer.message);
      window.location.assign(answer.location);
      return;
    }
    if (response && response.status === 409) document.getElementById("fe-replace-label").hidden = false;
    say(answer.error || "the server did not answer: check the connection and save again", true);
  });

  window.addEventListener("beforeunload", (event) => { if (dirty) event.preventDefault(); });

  render();
})();
