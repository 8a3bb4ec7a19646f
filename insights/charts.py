"""Server-rendered SVG charts: the geometry in Python, drawn by templates/insights/_bar_chart.html and
_line_chart.html. No script, no inline style (the strict CSP): SVG presentation attributes and classes
from static/insights/insights.css. Every chart is shown with a table of the same data and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import formats

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


def _nice_max(value: float) -> int:
    """A round top for the axis: 1, 2, 5, 10, 20, 50, ... at least the value."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class Bar:
    y: float
    width: float
    label: str
    value_label: str
    text_y: float
    value_x: float


@dataclass
class BarChart:
    """Horizontal bars: the label on the left, the bar, its value after it (long labels never collide)."""

    bars: list[Bar]
    width: int
    height: int
    left: int
    bar_height: int


BAR_LEFT = 190  # room for the labels
BAR_ROW = 28
BAR_HEIGHT = 18


def bar_chart(items: list[tuple[str, float]], *, value_format=lambda value: f"{value:g}") -> BarChart:
    """One horizontal bar per (label, value), scaled to the largest."""
    plot_width = WIDTH - BAR_LEFT - 60
    top = max((value for _label, value in items), default=0) or 1
    bars = []
    for index, (label, value) in enumerate(items):
        width = plot_width * value / top
        y = TOP + index * BAR_ROW
        bars.append(
            Bar(
                y=y,
                width=round(width, 1),
                label=label,
                value_label=value_format(value),
                text_y=y + BAR_HEIGHT - 4,
                value_x=round(BAR_LEFT + width + 6, 1),
            )
        )
    return BarChart(bars=bars, width=WIDTH, height=TOP * 2 + BAR_ROW * len(items), left=BAR_LEFT, bar_height=BAR_HEIGHT)


def _ticks(top: int, *, plot_height: float) -> list[Tick]:
    return [
        Tick(
            y=round(TOP + plot_height - plot_height * fraction, 1),
            label=f"{top * fraction:g}".replace(".", str(formats.get_format("DECIMAL_SEPARATOR"))),
        )
        for fraction in (0, 0.5, 1)
    ]


@dataclass
class Line:
    name: str
    css_class: str
    points: str  # the polyline's "x,y x,y ..."
    dots: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class LineChart:
    lines: list[Line]
    ticks: list[Tick]
    x_labels: list[tuple[float, str, str]]
    target_y: float | None
    target_label: str
    target_label_y: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM


# Up to this many lines get their own colour and dash pattern (static/insights/insights.css).
LINE_STYLES = 6


def line_chart(
    series: list[tuple[str, list[tuple[date, int | None]]]],
    *,
    first: date,
    last: date,
    target: int | None,
    target_label: str,
) -> LineChart:
    """One line per (name, [(day, value)]) over the days first…last; a missing value breaks nothing (the
    point is left out). `target`: a dashed horizontal line."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    values = [value for _name, points in series for _day, value in points if value is not None]
    top = _nice_max(max([*values, target or 0], default=0))
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return round(LEFT + plot_width * (day - first).days / span, 1)

    def y_of(value: float) -> float:
        return round(TOP + plot_height - plot_height * value / top, 1)

    lines = []
    for index, (name, points) in enumerate(series):
        dots = [(x_of(day), y_of(value)) for day, value in points if value is not None]
        lines.append(
            Line(
                name=name,
                css_class=f"chart-line-{index % LINE_STYLES}",
                points=" ".join(f"{x},{y}" for x, y in dots),
                dots=dots,
            )
        )
    # (x, text, anchor): the first label starts at the axis, the last ends at the right edge.
    labels = [(x_of(first), first.strftime("%d-%m"), "start"), (x_of(last), last.strftime("%d-%m"), "end")]
    if span >= 4:
        middle = first + (last - first) / 2
        labels.insert(1, (x_of(middle), middle.strftime("%d-%m"), "middle"))
    return LineChart(
        lines=lines,
        ticks=_ticks(top, plot_height=plot_height),
        x_labels=labels,
        target_y=y_of(target) if target is not None else None,
        target_label=target_label,
        target_label_y=(y_of(target) - 6) if target is not None else None,
    )
