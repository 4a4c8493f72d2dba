"""Charts as server-made SVG: horizontal bars for categories, columns for months.

Plain SVG with presentation attributes (no script, no ``style``: the app's strict CSP
allows it inline), a ``viewBox`` so it scales from a 360 px phone to an office screen,
``role="img"`` with a title; every text escaped. The numbers beside the bars are the
figure's own (the app also lists them in a table with a button each to open the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 360
"""The viewBox's width: about a phone's, so the text's size in the SVG is about its size on
the screen (a 640-wide box drew 18-unit labels at 9 px on a 360 px phone)."""
INK, MUTED, BAR, NEGATIVE, GRID = "#1f2933", "#616e7c", "#c0392b", "#616e7c", "#d0d0d0"
"""The app's ink, muted text and theme red (var(--theme)); a negative value (a month with
more corrected away than given) in grey."""
FONT = "system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', sans-serif"


def amount(value: int, unit: str) -> str:
    """A figure's value in words a person reads: yuan, hours, credits, a count."""
    if unit == "fen":
        sign = "-" if value < 0 else ""
        return f"{sign}¥{abs(value) // 100:,}.{abs(value) % 100:02d}"
    if unit == "minutes":
        return f"{value / 60:,.1f} h"
    if unit == "cents":
        return f"{value / 100:,.2f}"
    if unit == "percent":
        return f"{value}%"
    return f"{value:,}"


def _svg(height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-label="{escape(title)}" font-family="{escape(FONT)}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _empty(title: str) -> str:
    return _svg(32, title, [(f'<text x="2" y="20" font-size="14" fill="{MUTED}">'
                            "暂无数据 · no data</text>")])


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, unit: str, limit: int = 12) -> str:
    """One horizontal bar per item (the largest ``limit``), its label above it and its value
    at its end: long Chinese labels keep the width for the bar on a phone."""
    if not items:
        return _empty(title)
    shown = list(items[:limit])
    top = max(abs(v) for _, v in shown) or 1
    row, bar_h, value_w = 42, 14, 104
    body: list[str] = []
    for index, (label, value) in enumerate(shown):
        y = index * row
        length = max(2.0, (WIDTH - value_w - 8) * abs(value) / top)
        colour = NEGATIVE if value < 0 else BAR
        body.append(f'<text x="2" y="{y + 15}" font-size="14" fill="{INK}">{escape(label)}</text>')
        body.append(f'<rect x="2" y="{y + 21}" width="{length:.1f}" height="{bar_h}" rx="2" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{length + 8:.1f}" y="{y + 33}" font-size="13" '
                    f'fill="{INK}">{escape(amount(value, unit))}</text>')
    if len(items) > limit:
        y = len(shown) * row
        body.append(f'<text x="2" y="{y + 16}" font-size="13" fill="{MUTED}">'
                    f"另有 {len(items) - limit} 项见下表 · {len(items) - limit} more below</text>")
        return _svg(y + 24, title, body)
    return _svg(len(shown) * row + 2, title, body)


def column_chart(items: Sequence[tuple[str, int]], *, title: str, unit: str) -> str:
    """One column per month, labelled with the month's number beneath and the largest
    value on a grid line; negative months (more corrected than given) drawn red."""
    if not items:
        return _empty(title)
    height, base, left = 196, 160, 4
    top = max(max(abs(v) for _, v in items), 1)
    slot = (WIDTH - left * 2) / len(items)
    bar_w = max(3.0, min(28.0, slot * 0.6))
    body = [f'<line x1="{left}" y1="{base}" x2="{WIDTH - left}" y2="{base}" stroke="{GRID}"/>',
            (f'<line x1="{left}" y1="24" x2="{WIDTH - left}" y2="24" stroke="{GRID}" '
            'stroke-dasharray="4 4"/>'),
            (f'<text x="{left}" y="17" font-size="13" fill="{MUTED}">'
            f"{escape(amount(top, unit))}</text>")]
    for index, (label, value) in enumerate(items):
        h = max(1.0, (base - 24) * abs(value) / top)
        x = left + slot * index + (slot - bar_w) / 2
        colour = NEGATIVE if value < 0 else BAR
        body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                    f'fill="{colour}"><title>{escape(label)}: '
                    f"{escape(amount(value, unit))}</title></rect>")
        short = label[5:] if len(label) == 7 and label[4] == "-" else label  # 2026-03 -> 03
        if len(items) <= 12 or index % max(1, len(items) // 12) == 0:
            body.append(f'<text x="{x + bar_w / 2:.1f}" y="{base + 16}" font-size="12" '
                        f'text-anchor="middle" fill="{INK}">{escape(short)}</text>')
    first, last = items[0][0], items[-1][0]
    span = first if first == last else f"{first} … {last}"
    body.append(f'<text x="{left}" y="{height - 4}" font-size="13" fill="{MUTED}">'
                f"{escape(span)}</text>")
    return _svg(height, title, body)


def target_chart(items: Sequence[tuple[str, int, int | None]], *, title: str) -> str:
    """Campaigns against target: per campaign its name, a grey bar for the target and a red
    one for what was raised (beyond the target it runs to the end), and the words
    "raised / target (percent)". A campaign without a target is drawn against the largest."""
    if not items:
        return _empty(title)
    largest = max([abs(v) for _, v, _ in items] + [t or 0 for _, _, t in items]) or 1
    row, bar_h, full = 58, 14, WIDTH - 4
    body: list[str] = []
    for index, (label, raised, target) in enumerate(items):
        y = index * row
        scale = target if target else largest
        length = max(2.0, min(1.0, max(raised, 0) / scale) * full)
        body.append(f'<text x="2" y="{y + 15}" font-size="14" fill="{INK}">{escape(label)}</text>')
        body.append(f'<rect x="2" y="{y + 21}" width="{full}" height="{bar_h}" rx="2" '
                    f'fill="{GRID}"/>')
        body.append(f'<rect x="2" y="{y + 21}" width="{length:.1f}" height="{bar_h}" rx="2" '
                    f'fill="{BAR}"/>')
        words = (f"{amount(raised, 'fen')} / {amount(target, 'fen')}"
                 f"（{raised * 100 // target}%）" if target
                 else f"{amount(raised, 'fen')} · 无目标 no target")
        body.append(f'<text x="2" y="{y + 51}" font-size="13" fill="{MUTED}">'
                    f"{escape(words)}</text>")
    return _svg(len(items) * row, title, body)


__all__ = ["amount", "bar_chart", "column_chart", "target_chart"]
