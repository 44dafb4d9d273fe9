"""The weekly review's charts, drawn with matplotlib (Agg, no display) as PNG bytes.

Figures are made with the object API (no pyplot state), so drawing is safe off the event loop
and in any thread. PNGs carry no timestamp or software tag: the same numbers draw the same bytes.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

WIDTH, HEIGHT, DPI = 7.5, 3.4, 110
BLUE, ORANGE, GREY, RED, GREEN = "#1f5f99", "#d9822b", "#8a8f98", "#b23b3b", "#2e7d4f"
REPEAT_LIMIT = 5.0  # percent: above it, context transfer failed
CSAT_GAP_LIMIT = 15.0  # points: above it, the escalation experience needs redesign


@dataclass(frozen=True, slots=True)
class Chart:
    name: str  # file stem: containment, escalation_reasons, repeat_explanation, csat
    title: str
    png: bytes


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e3e5e8", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _percent_axis(ax, top: float = 100.0) -> None:
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))


def _legend(ax, loc: str) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=9, loc=loc)


def _line(ax, weeks: list[str], values: list[float | None], **style) -> None:
    points = [(w, v * 100) for w, v in zip(weeks, values) if v is not None]
    if points:
        ax.plot([w for w, _ in points], [v for _, v in points], marker="o", linewidth=2, **style)


def containment(weeks: list[str], by_type: dict[str, list[float | None]], target: float) -> Chart:
    """Containment per week for each call type given, against the target."""
    fig, ax = _figure()
    ax.set_xticks(range(len(weeks)), weeks)
    colours = iter((BLUE, ORANGE, GREEN, GREY))
    for kind, values in by_type.items():
        _line(ax, weeks, values, color=next(colours), label=kind.replace("_", "-"))
    ax.axhline(target * 100, color=RED, linestyle="--", linewidth=1.2, label=f"target {target:.0%}")
    _percent_axis(ax)
    ax.set_ylabel("resolved by the AI")
    ax.set_title("Containment per week: billing and policy-service calls", loc="left", fontsize=11)
    _legend(ax, "upper left")
    return Chart("containment", "Containment against the target", _png(fig))


def escalation_reasons(reasons: Counter, week: str) -> Chart:
    fig, ax = _figure()
    ranked = reasons.most_common()[::-1]  # largest at the top
    total = sum(reasons.values())
    if ranked:
        labels = [r.replace("_", " ") for r, _ in ranked]
        counts = [n for _, n in ranked]
        bars = ax.barh(labels, counts, color=BLUE)
        for bar, n in zip(bars, counts):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {n} ({n / total:.0%})", va="center",
                    fontsize=8, color="#333")
        ax.set_xlim(0, max(counts) * 1.25)
    else:
        ax.text(0.5, 0.5, "no escalations this week", ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e3e5e8", linewidth=0.8)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("escalations")
    ax.set_title(f"Escalation reasons, {week} ({total} escalations)", loc="left", fontsize=11)
    return Chart("escalation_reasons", "Escalation reasons", _png(fig))


def repeat_explanation(weeks: list[str], rates: list[float | None]) -> Chart:
    fig, ax = _figure()
    ax.set_xticks(range(len(weeks)), weeks)
    _line(ax, weeks, rates, color=BLUE, label="caller had to repeat")
    ax.axhline(REPEAT_LIMIT, color=RED, linestyle="--", linewidth=1.2,
               label=f"{REPEAT_LIMIT:.0f}%: context transfer failing")
    top = max([REPEAT_LIMIT * 2] + [v * 100 * 1.3 for v in rates if v is not None])
    _percent_axis(ax, min(100.0, top))
    ax.set_ylabel("of tagged transfers")
    ax.set_title("Repeat explanation per week (should be near 0%)", loc="left", fontsize=11)
    _legend(ax, "upper right")
    return Chart("repeat_explanation", "Repeat explanation", _png(fig))


def csat(weeks: list[str], ai: list[float | None], escalated: list[float | None]) -> Chart:
    fig, ax = _figure()
    ax.set_xticks(range(len(weeks)), weeks)
    _line(ax, weeks, ai, color=GREEN, label="after the AI resolved it")
    _line(ax, weeks, escalated, color=ORANGE, label="after a producer took it")
    for i, (a, e) in enumerate(zip(ai, escalated)):
        if a is not None and e is not None:
            gap = (a - e) * 100
            ax.vlines(i, min(a, e) * 100, max(a, e) * 100, color=RED if abs(gap) > CSAT_GAP_LIMIT else GREY,
                      linewidth=4, alpha=0.35)
            ax.annotate(f"{gap:+.0f}", (i, max(a, e) * 100), textcoords="offset points", xytext=(0, 6), ha="center",
                        fontsize=8, color=RED if abs(gap) > CSAT_GAP_LIMIT else "#333")
    _percent_axis(ax, 110)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("satisfied (4 or 5 of 5)")
    ax.set_title(f"CSAT: AI against escalation (gap in points; over {CSAT_GAP_LIMIT:.0f} needs redesign)",
                 loc="left", fontsize=11)
    _legend(ax, "lower left")
    return Chart("csat", "Caller satisfaction gap", _png(fig))
