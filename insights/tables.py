"""The dashboard's tables: one definition each, shown on the page under its chart and downloaded as CSV.

Cells are already formatted in the active language (numbers with its decimal separator), so the page and
the spreadsheet say the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import formats
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from insights import charts
from insights.kpis import Dashboard

# The tables, in the page's order: their keys name the CSV downloads (/desk/insights/<key>.csv).
TABLE_KEYS = ("appointments", "rating", "first_free", "times", "municipalities", "waitlist")


@dataclass
class Table:
    key: str
    title: str
    summary: str
    header: list[str]
    rows: list[list[object]]
    chart: object | None = None
    chart_kind: str = ""  # "bar" or "line"
    notes: list[str] = field(default_factory=list)


def _number(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None else formats.number_format(value, decimal_pos=decimals, use_l10n=True)


def _percent(value: float | None) -> str:
    return "–" if value is None else formats.number_format(value * 100, decimal_pos=1, use_l10n=True) + " %"


def _minutes(value: timedelta | None) -> str:
    return _number(value.total_seconds() / 60 if value is not None else None)


def _days(value: timedelta | None) -> str:
    return _number(value.total_seconds() / 86400 if value is not None else None)


def appointments_table(dashboard: Dashboard) -> Table:
    c = dashboard.counts
    rows: list[list[object]] = [
        [_("Booked"), c.booked],
        [_("Served"), c.served],
        [_("Cancelled online"), c.cancelled_online],
        [_("Cancelled by the desk"), c.cancelled_by_desk],
        [_("No-shows"), c.no_shows],
        [_("No-show rate"), _percent(c.no_show_rate)],
        [_("Walk-ins"), c.walk_ins],
        [_("Booked by employers"), c.by_employers],
        [_("Share booked by employers"), _percent(c.employer_share)],
    ]
    bars = [
        (_("Served"), c.served),
        (_("No-shows"), c.no_shows),
        (_("Cancelled online"), c.cancelled_online),
        (_("Cancelled by the desk"), c.cancelled_by_desk),
        (_("Walk-ins"), c.walk_ins),
    ]
    summary = _(
        "%(served)s served and %(walk_ins)s walk-ins; %(no_shows)s of the %(expected)s people expected did not come "
        "(no-show rate %(rate)s)."
    ) % {
        "served": c.served,
        "walk_ins": c.walk_ins,
        "no_shows": c.no_shows,
        "expected": c.expected,
        "rate": _percent(c.no_show_rate),
    }
    return Table(
        key="appointments",
        title=_("Appointments"),
        summary=summary,
        header=[_("Measure"), _("Number")],
        rows=rows,
        chart=charts.bar_chart(bars),
        chart_kind="bar",
    )


def rating_table(dashboard: Dashboard) -> Table:
    r = dashboard.rating
    if r.responses and not r.sent:
        summary = _("%(responses)s people gave a score; the average is %(average)s out of 10.") % {
            "responses": r.responses,
            "average": _number(r.average),
        }
    elif r.responses:
        summary = _(
            "%(responses)s of the %(sent)s people asked gave a score (response rate %(rate)s); the average is "
            "%(average)s out of 10."
        ) % {"responses": r.responses, "sent": r.sent, "rate": _percent(r.response_rate), "average": _number(r.average)}
    else:
        summary = _("No scores were given for this period's appointments yet.")
    return Table(
        key="rating",
        title=_("Rating"),
        summary=summary,
        header=[_("Score"), _("Responses")],
        rows=[[score, n] for score, n in r.distribution.items()],
        chart=charts.bar_chart([(str(score), n) for score, n in r.distribution.items()]),
        chart_kind="bar",
        notes=[
            _("Average: %(average)s out of 10.") % {"average": _number(r.average)},
            _("Response rate: %(rate)s (%(responses)s of %(sent)s feedback e-mails).")
            % {"rate": _percent(r.response_rate), "responses": r.responses, "sent": r.sent},
        ],
    )


def first_free_table(dashboard: Dashboard) -> Table:
    target = settings.EXPATDESK_FIRST_FREE_TARGET_DAYS
    series = dashboard.first_free
    days = sorted({day for line in series for day, _value in line.points})
    by_day = [{day: value for day, value in line.points} for line in series]
    none_free = _("none free")
    rows = [
        [day.isoformat()]
        + [("" if day not in values else (none_free if values[day] is None else values[day])) for values in by_day]
        for day in days
    ]
    latest = [line for line in series if line.points]
    if latest:
        parts = ", ".join(
            f"{line.service.name}: "
            + (
                none_free
                if line.latest is None
                else ngettext("%(n)d day", "%(n)d days", line.latest) % {"n": line.latest}
            )
            for line in latest
        )
        summary = ngettext(
            "Days to the first free slot on the last recorded day: %(parts)s (target: %(target)d day).",
            "Days to the first free slot on the last recorded day: %(parts)s (target: %(target)d days).",
            target,
        ) % {"parts": parts, "target": target}
    else:
        summary = _("Nothing was recorded in this period yet: the record is made every day.")
    chart = charts.line_chart(
        [(line.service.name, line.points) for line in series],
        first=dashboard.period.first,
        last=dashboard.period.last,
        target=target,
        target_label=ngettext("target: %(n)d day", "target: %(n)d days", target) % {"n": target},
    )
    return Table(
        key="first_free",
        title=_("Days to the first free slot"),
        summary=summary,
        header=[_("Day")] + [line.service.name for line in series],
        rows=rows,
        chart=chart,
        chart_kind="line",
    )


def times_table(dashboard: Dashboard) -> Table:
    c = dashboard.counts
    u = dashboard.utilisation
    rows: list[list[object]] = [
        [_("Lead time, booking to visit (days, average)"), _days(c.lead_time)],
        [_("Waiting time, check-in to start (minutes, average)"), _minutes(c.waiting_time)],
        [_("Service time, start to done (minutes, average)"), _minutes(c.service_time)],
        [_("Counter time booked (minutes)"), u.booked_minutes],
        [_("Counter time open (minutes)"), u.open_minutes],
        [_("Counter-time utilisation"), _percent(u.rate)],
    ]
    summary = _("People booked %(lead)s days ahead on average; %(rate)s of the open counter time was booked.") % {
        "lead": _days(c.lead_time),
        "rate": _percent(u.rate),
    }
    return Table(
        key="times", title=_("Times and counter use"), summary=summary, header=[_("Measure"), _("Value")], rows=rows
    )


def municipalities_table(dashboard: Dashboard) -> Table:
    m = dashboard.municipalities
    month_labels = [date_format(month, "F Y") for month in m.months]
    rows = [[name, *counts, sum(counts)] for name, counts in m.rows]
    totals = m.totals
    rows.append([_("Total"), *totals, sum(totals)])
    if m.rows:
        top_name, top_counts = max(m.rows, key=lambda row: (sum(row[1]), row[0]))
        summary = _(
            "%(total)s people were served from %(count)s municipalities, the most from %(top)s (%(top_n)s)."
        ) % {
            "total": sum(totals),
            "count": len(m.rows),
            "top": top_name,
            "top_n": sum(top_counts),
        }
    else:
        summary = _("Nobody with a municipality was served in this period.")
    return Table(
        key="municipalities",
        title=_("Served per municipality per month"),
        summary=summary,
        header=[_("Municipality"), *month_labels, _("Total")],
        rows=rows,
        chart=charts.bar_chart(list(zip(month_labels, totals, strict=True))),
        chart_kind="bar",
    )


def waitlist_table(dashboard: Dashboard) -> Table | None:
    """The waitlist's section (issue 14 part 3): shown once kpis.waitlist_lengths returns rows."""
    if dashboard.waitlist is None:
        return None
    rows = [[service.name, n] for service, n in dashboard.waitlist]
    summary = _("%(n)s people are waiting for a time.") % {"n": sum(n for _service, n in dashboard.waitlist)}
    return Table(key="waitlist", title=_("Waitlist"), summary=summary, header=[_("Service"), _("Waiting")], rows=rows)


def dashboard_tables(dashboard: Dashboard) -> list[Table]:
    tables = [
        appointments_table(dashboard),
        rating_table(dashboard),
        first_free_table(dashboard),
        times_table(dashboard),
        municipalities_table(dashboard),
    ]
    waitlist = waitlist_table(dashboard)
    if waitlist is not None:
        tables.append(waitlist)
    return tables
