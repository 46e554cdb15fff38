"""The public transparency page: the report of ``vidonate.privacy.transparency`` as text,
tables and small inline SVG bar charts drawn here, with no charting dependency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from vidonate.campaigns.service import list_campaigns
from vidonate.db.engine import read_transaction
from vidonate.privacy.transparency import (
    REASON_LABELS,
    TransparencyReport,
    band_label,
    duration,
    money,
    percent,
)
from vidonate.web.deps import OptionalUser, ReportCacheDep, RuntimeDep
from vidonate.web.pages.routes import page

router = APIRouter(include_in_schema=False)

BAR_COLOR = "#3b6ea8"


def bar_chart(title: str, bars: Sequence[tuple[str, int]], width: int = 560) -> Markup:
    """A horizontal bar chart as inline SVG. Every bar is drawn, zeros too, with its
    number written next to it: the chart must be readable without hovering."""
    label_width, value_width, bar_height, gap = 230, 60, 20, 6
    height = gap + len(bars) * (bar_height + gap)
    longest = max((value for _, value in bars), default=0) or 1
    room = width - label_width - value_width
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" font-size="13">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(bars):
        top = gap + index * (bar_height + gap)
        middle = top + bar_height / 2
        length = room * value / longest
        parts.append(
            f'<text x="{label_width - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{top}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{BAR_COLOR}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{value:,}</text>'
        )
    parts.append(
        f'<line x1="{label_width}" y1="0" x2="{label_width}" y2="{height}" stroke="#888"/></svg>'
    )
    return Markup("".join(parts))


def charts(report: TransparencyReport) -> dict[str, Markup]:
    clips = report.clips
    drawn = {
        "outcomes": bar_chart(
            "Received clips by outcome",
            [
                ("accepted", clips.accepted),
                ("rejected", clips.rejected),
                ("processing failed", clips.failed),
                ("withdrawn before decision", clips.withdrawn_before_decision),
                ("still in processing or review", clips.pending),
            ],
        ),
        "rejections": bar_chart(
            "Rejected clips by reason",
            [(REASON_LABELS.get(r, r), n) for r, n in clips.rejected_by_reason.items()],
        ),
        "reads": bar_chart("Access-log entries by purpose", list(report.reads.by_purpose.items())),
    }
    if report.payments.donors_by_amount is not None:
        drawn["earnings"] = bar_chart(
            "Paid donors by total earnings",
            [(band_label(b), b.donors) for b in report.payments.donors_by_amount],
        )
    return drawn


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(
    request: Request,
    user: OptionalUser,
    rt: RuntimeDep,
    reports: ReportCacheDep,
    campaign: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Public, no sign-in. The report comes from the cache the API's shares
    (``privacy/report_cache.py``)."""
    report = reports.report(rt.sessions, campaign or None)
    with read_transaction(rt.sessions) as session:
        campaigns = [(c.slug, c.name) for c in list_campaigns(session)]
    return page(
        request,
        "transparency.html",
        user=user,
        report=report,
        campaigns=campaigns,
        charts=charts(report),
        reason_labels=REASON_LABELS,
        money=money,
        percent=percent,
        duration=duration,
        band_label=band_label,
    )
