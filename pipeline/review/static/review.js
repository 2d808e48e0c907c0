// Keyboard review: the page shows one line, the next one is already fetched (and its crops preloaded).
// Keys are matched on event.code so Alt+key works on every keyboard layout (macOS Option changes event.key).
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;
  const STATUS_KEYS = { KeyS: "signed", KeyN: "name_only", KeyO: "signature_only", KeyB: "blank", KeyX: "struck", KeyI: "uncertain" };

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, data };
  }

  // Duplicates page: S same, D different.
  const dup = document.getElementById("dup");
  if (dup) {
    document.addEventListener("keydown", (event) => {
      const key = { KeyS: "s", KeyD: "d" }[event.code];
      if (!key || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      dup.querySelector(`button[data-key="${key}"]`).click();
    });
    return;
  }

  const form = document.getElementById("review");
  if (!form) return;
  const nameBox = document.getElementById("name");
  const notice = document.getElementById("notice");
  const skipping = document.getElementById("skipping");
  const first = JSON.parse(document.getElementById("first-item").textContent);
  let current = first;
  let next = null;
  let prefetching = null;
  let busy = false;

  function say(text) { notice.textContent = text || ""; }

  function show(item) {
    current = item;
    document.getElementById("empty").hidden = !!item;
    form.hidden = !item;
    if (!item) { document.body.dataset.item = ""; return; }
    document.getElementById("item").value = item.item;
    document.getElementById("where").textContent = `${item.file} · page ${item.page} · line ${item.line}`;
    document.getElementById("reasons").textContent = `${item.reasons.join(", ")} · confidence ${item.confidence}`;
    for (const part of ["line", "name", "signature"]) {
      const img = document.getElementById(`crop-${part}`);
      img.src = item.crops[part] || "";
      img.hidden = !item.crops[part];
    }
    nameBox.value = item.name;
    setStatus(item.status);
    skipping.hidden = true;
    document.body.dataset.item = item.item;
    nameBox.focus();
    nameBox.select();
  }

  function setStatus(status) {
    for (const radio of form.querySelectorAll('input[name="status"]')) radio.checked = radio.value === status;
  }

  function selectedStatus() {
    const checked = form.querySelector('input[name="status"]:checked');
    return checked ? checked.value : current.status;
  }

  function updateProgress(progress) {
    if (!progress) return;
    for (const el of document.querySelectorAll("[data-p]")) el.textContent = progress[el.dataset.p];
  }

  function prefetch() {
    if (!current) return Promise.resolve(null);
    const after = current.item;
    prefetching = fetch(`/api/next?after=${encodeURIComponent(after)}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((data) => {
        next = data.item && data.item.item !== after ? data.item : null;
        if (next) for (const url of Object.values(next.crops)) if (url) new Image().src = url;  // preload
        return next;
      })
      .catch(() => (next = null));
    return prefetching;
  }

  async function advance(progress) {
    updateProgress(progress);
    if (prefetching) await prefetching;
    const following = next;
    next = null;
    show(following);
    if (!following) {  // the prefetch found nothing: ask once more (an expired lease may have freed one)
      const data = await fetch("/api/next", { credentials: "same-origin" }).then((r) => r.json()).catch(() => ({}));
      show(data.item || null);
    }
    prefetch();
  }

  async function submit() {
    if (busy || !current) return;
    busy = true;
    try {
      const { status, data } = await post("/api/decide", { item: current.item, status: selectedStatus(), name: nameBox.value });
      if (status === 200) { say(""); await advance(data.progress); }
      else if (status === 409) { say(data.error); await advance(null); }
      else {  // refused (a name too long, ...): nothing was saved; the line stays, with the reason shown
        say(data.error || `could not save (HTTP ${status})`);
        if (status === 422) { nameBox.focus(); }
      }
    } finally { busy = false; }
  }

  async function skip(reason) {
    if (busy || !current) return;
    busy = true;
    try {
      const { status, data } = await post("/api/skip", { item: current.item, reason });
      say(status === 200 ? `skipped: ${reason}` : data.error);
      await advance(data.progress);
    } finally { busy = false; }
  }

  async function undo() {
    if (busy) return;
    busy = true;
    try {
      const { status, data } = await post("/api/undo");
      if (status !== 200) { say(data.error); return; }
      say("undone: the line is back, decide it again");
      if (current) next = current;  // the line on screen stays leased to us: show it after this one
      prefetching = null;
      updateProgress(data.progress);
      show(data.item);
    } finally { busy = false; }
  }

  function command(code) {
    if (STATUS_KEYS[code]) { setStatus(STATUS_KEYS[code]); return true; }
    if (code === "KeyK") { skipping.hidden = false; return true; }
    if (code === "KeyU") { undo(); return true; }
    if (code === "KeyE") { nameBox.focus(); nameBox.select(); return true; }
    return false;
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  document.getElementById("skip").addEventListener("click", () => { skipping.hidden = false; });
  document.getElementById("undo").addEventListener("click", undo);
  for (const button of skipping.querySelectorAll("button[data-reason]")) {
    button.addEventListener("click", () => skip(button.dataset.reason));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey) return;
    if (!skipping.hidden) {  // choosing a skip reason: 1..3, Esc cancels
      const buttons = skipping.querySelectorAll("button[data-reason]");
      const index = Number(event.key) - 1;
      if (index >= 0 && index < buttons.length) { event.preventDefault(); skip(buttons[index].dataset.reason); }
      else if (event.key === "Escape") { event.preventDefault(); skipping.hidden = true; }
      return;
    }
    const inName = document.activeElement === nameBox;
    if (event.key === "Enter") { event.preventDefault(); submit(); return; }
    if (event.key === "Escape" && inName) { event.preventDefault(); nameBox.blur(); return; }
    if ((event.altKey || !inName) && command(event.code)) event.preventDefault();
  });

  // Heartbeat: keep this user's leases alive while the page is open (well inside the lease time).
  const leaseMs = Number(form.dataset.lease) * 1000;
  setInterval(() => { if (current) post("/api/heartbeat"); }, Math.max(5000, Math.min(60000, leaseMs / 3)));

  show(first);
  prefetch();
})();
