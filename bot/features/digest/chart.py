"""The weekly digest's chart: message counts per location over the last weeks, as a PNG.

Pure: no database, no clock, no I/O. The caller passes the counts, the week labels and the
already translated title/axis label, and gets PNG bytes back (plus a plain-text
alternative for clients that do not show images and for screen readers).

- Drawn with matplotlib's Agg canvas on a private `Figure`: no pyplot, no `matplotlib.use`,
  no rcParams changes, so nothing global is touched and it is safe in a long-running
  process. matplotlib is imported inside the function, so importing this module is cheap.
- Rendering takes tens of milliseconds of CPU: call it with ``asyncio.to_thread`` rather
  than on the event loop.
- Byte-identical output for the same input: the PNG carries no "Software" (version) chunk
  and Agg writes no timestamp.
- One colour *and* one marker per location (Okabe–Ito palette, colour-blind friendly), in
  mapping order; past eight locations the line style changes so lines stay distinguishable.
- User text (location names, title) is drawn literally: ``$`` does not start mathtext and a
  leading ``_`` does not hide a legend entry.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

WIDTH_PX = 800
HEIGHT_PX = 400
DPI = 100
MAX_ALT_TEXT = 1000

# Okabe & Ito, "Color Universal Design" (2008); yellow last, it is faint on white.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")


def _check(series: Mapping[str, Sequence[int]], week_labels: Sequence[str]) -> None:
    for name, counts in series.items():
        if len(counts) != len(week_labels):
            raise ValueError(
                f"{name!r} has {len(counts)} counts for {len(week_labels)} week labels"
            )


def activity_chart(
    series: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
    *,
    title: str,
    ylabel: str,
) -> bytes:
    """PNG (800×400) with one line per location; `series` maps a location's display name to
    its counts per week, oldest first, one count per entry of `week_labels`."""
    _check(series, week_labels)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    x = list(range(len(week_labels)))
    handles = []
    for i, counts in enumerate(series.values()):
        (line,) = ax.plot(
            x,
            [int(c) for c in counts],
            color=PALETTE[i % len(PALETTE)],
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)],
            linewidth=2,
            markersize=6,
            clip_on=False,  # a marker at 0 sits on the axis, not half cut off
        )
        handles.append(line)

    peak = max((int(c) for counts in series.values() for c in counts), default=0)
    ax.set_ylim(0, max(peak, 1) * 1.08)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if x:
        ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_xticks(x, [str(label) for label in week_labels], parse_math=False)
    ax.set_title(title, parse_math=False, wrap=True)
    ax.set_ylabel(ylabel, parse_math=False)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)

    if handles:
        # explicit labels: a name starting with "_" is still listed
        legend = ax.legend(
            handles,
            [str(name) for name in series],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize="small",
        )
        for text in legend.get_texts():
            text.set_parse_math(False)

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def chart_alt_text(
    series: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
    *,
    title: str,
) -> str:
    """"<title>: Szczecin 120 (W7 → W14: 10 → 25), Rostock 80 (…), …": total and first/last
    week per location, largest total first (ties keep mapping order), at most 1000
    characters (locations that do not fit become "…")."""
    _check(series, week_labels)
    head = _one_line(title)
    totals = sorted(
        ((_one_line(name), [int(c) for c in counts]) for name, counts in series.items()),
        key=lambda item: -sum(item[1]),
    )
    parts = []
    for name, counts in totals:
        part = f"{name} {sum(counts)}"
        if len(week_labels) == 1:
            part += f" ({_one_line(week_labels[0])}: {counts[0]})"
        elif week_labels:
            first, last = _one_line(week_labels[0]), _one_line(week_labels[-1])
            part += f" ({first} → {last}: {counts[0]} → {counts[-1]})"
        parts.append(part)

    if not parts:
        return head[:MAX_ALT_TEXT]
    text = f"{head}: " if head else ""
    if len(text) > MAX_ALT_TEXT // 2:
        text = text[: MAX_ALT_TEXT // 2 - 3] + "…: "
    for i, part in enumerate(parts):
        sep = ", " if i else ""
        rest = len(parts) - i - 1
        # keep room for ", …" if anything is left after this part
        if len(text) + len(sep) + len(part) + (3 if rest else 0) > MAX_ALT_TEXT:
            tail = (sep or "") + "…"
            return (text + tail)[:MAX_ALT_TEXT]
        text += sep + part
    return text
