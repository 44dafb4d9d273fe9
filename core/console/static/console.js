// Warmline producer console: the live stream (server-sent events; EventSource reconnects by itself).
// Every piece of HTML it inserts was rendered by the server with autoescaping: caller words are text.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  // when each pop reached this screen, by the browser's own clock (epoch ms): the tests read it
  window.warmlinePops = window.warmlinePops || {};
  window.warmlineRenders = window.warmlineRenders || [];

  function now() { return performance.timeOrigin + performance.now(); }

  function fromHtml(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  function noted(node) {
    const id = node.dataset.callId, status = node.dataset.status, at = now();
    window.warmlineRenders.push({ call_id: id, status: status, at: at });
    if (!(id in window.warmlinePops)) window.warmlinePops[id] = { at: at, status: status };
    node.dataset.renderedAt = String(at);
  }

  function upsertCard(data) {
    const pops = document.getElementById("pops");
    if (!pops) return;
    const node = fromHtml(data.html);
    const old = document.getElementById("pop-" + data.call_id);
    if (old) {
      // keep what the producer already typed in the wrap-up form
      const typing = old.querySelector("form.disposition");
      const fresh = node.querySelector("form.disposition");
      if (typing && fresh) fresh.replaceWith(typing);
      old.replaceWith(node);
    } else {
      pops.prepend(node);
    }
    noted(node);
    wire(node);
    idleIfNone();
  }

  function idleIfNone() {
    const pops = document.getElementById("pops"), idle = document.getElementById("idle");
    if (pops && idle) idle.hidden = pops.children.length > 0;
  }

  function removeCard(data) {
    const old = document.getElementById("pop-" + data.call_id);
    if (old) old.remove();
    idleIfNone();
  }

  function replaceLive(name, html) {
    const box = document.querySelector('[data-live="' + name + '"]');
    if (!box) return;
    // keep what the producer already typed in a wrap-up form (as upsertCard does)
    const typing = {};
    box.querySelectorAll(".pop[data-call-id] form.disposition").forEach((f) => {
      typing[f.closest(".pop").dataset.callId] = f;
    });
    box.innerHTML = html;
    box.querySelectorAll(".pop[data-call-id]").forEach((node) => {
      const fresh = node.querySelector("form.disposition");
      if (fresh && typing[node.dataset.callId]) fresh.replaceWith(typing[node.dataset.callId]);
      noted(node);
    });
    wire(box);
    if (name === "pops") idleIfNone();
  }

  let held = null; // stream events that came while a resync was in flight: applied after it, in order

  async function resync() {
    // on every open, the first one too: what changed before the stream was open, or while it was down
    held = held || [];
    try {
      for (const name of ["pops", "board", "callbacks"]) {
        if (!document.querySelector('[data-live="' + name + '"]')) continue;
        const r = await fetch("/fragments/" + name, { credentials: "same-origin" });
        if (r.status === 401) { location.href = "/login"; return; }
        if (r.ok) replaceLive(name, await r.text());
      }
    } finally {
      const queued = held || [];
      held = null;
      queued.forEach(([apply, data]) => apply(data));
    }
  }

  function on(apply) {
    return (e) => { const data = JSON.parse(e.data); if (held) held.push([apply, data]); else apply(data); };
  }

  function connect() {
    const live = document.getElementById("live");
    const stream = new EventSource("/events");
    // the server subscribes the stream before its first byte: a resync now misses nothing, and
    // the page is live (the dot lit) once it has caught up
    stream.onopen = () => {
      resync().finally(() => { if (live && stream.readyState === EventSource.OPEN) live.classList.add("on"); });
    };
    stream.onerror = () => { if (live) live.classList.remove("on"); };
    stream.addEventListener("card", on(upsertCard));
    stream.addEventListener("remove", on(removeCard));
    stream.addEventListener("board", on((data) => replaceLive("board", data.html)));
    stream.addEventListener("callbacks", on((data) => replaceLive("callbacks", data.html)));
    stream.addEventListener("expired", () => { stream.close(); location.href = "/login"; });
  }

  function wire(root) {
    root.querySelectorAll("form.disposition").forEach((form) => {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      const toggle = () => {
        const chosen = (form.querySelector('input[name="disposition"]:checked') || {}).value;
        form.querySelectorAll("select.for-rerouted").forEach((s) => { s.hidden = chosen !== "rerouted"; s.required = chosen === "rerouted"; });
        form.querySelectorAll("select.for-misidentified").forEach((s) => { s.hidden = chosen !== "misidentified"; s.required = chosen === "misidentified"; });
      };
      form.addEventListener("change", toggle);
      toggle();
      form.addEventListener("submit", () => { form.querySelector("button.save").disabled = true; });
    });
  }

  function elapsed() {
    const t = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach((el) => {
      const s = Math.max(0, Math.floor(t - parseFloat(el.dataset.since)));
      el.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    });
  }

  let lastPing = 0;
  function activity() {
    // keys and clicks are what keep a session from idling out; an open screen alone is not
    const t = Date.now();
    if (t - lastPing < 60000) return;
    lastPing = t;
    fetch("/api/alive", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
      .then((r) => { if (r.status === 401) location.href = "/login"; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".pop[data-call-id]").forEach(noted);
    wire(document);
    if (document.querySelector("[data-live]")) connect();
    setInterval(elapsed, 1000);
    // only with a session: on the login page a ping is refused (401) and would reload it mid-login
    if (csrf) ["keydown", "click", "mousemove"].forEach((k) => document.addEventListener(k, activity, { passive: true }));
  });
})();
