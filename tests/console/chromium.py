"""Debian's Chromium as the console's tests and bench/console_pop_bench.py drive it, and the pop clock
they read: the browser's own time when each pop card first enters the page (independent of
console.js, which the tests check rather than trust). No pytest here: the bench imports it too."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# window.__seen[call id] = {at, status, frame}: at the card's arrival, and the next frame after
SEEN = """
window.__seen = {};
new MutationObserver((records) => {
  const at = performance.timeOrigin + performance.now();
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    const cards = n.matches("article.pop[data-call-id]") ? [n] : n.querySelectorAll("article.pop[data-call-id]");
    for (const card of cards) {
      if (card.dataset.callId in window.__seen) continue;
      const seen = window.__seen[card.dataset.callId] = {at: at, status: card.dataset.status};
      requestAnimationFrame(() => { seen.frame = performance.timeOrigin + performance.now(); });
    }
  }
}).observe(document, {childList: true, subtree: true});
"""
