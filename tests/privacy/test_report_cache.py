"""The transparency report is computed at most once per ``max_age_s`` per campaign."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vidonate.config import Settings
from vidonate.errors import NotFound
from vidonate.privacy.report_cache import ReportCache
from vidonate.runtime import Runtime
from vidonate.web.app import create_app
from world import World


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_report_is_served_until_it_is_max_age_old_then_recomputed(world: World) -> None:
    clock = Clock()
    reports = ReportCache(5.0, clock)
    first = reports.report(world.rt.sessions, None)
    world.clip_in_review()
    clock.now += 4.9
    assert reports.report(world.rt.sessions, None) is first, "still fresh: not recomputed"
    clock.now += 0.2
    again = reports.report(world.rt.sessions, None)
    assert again.computed_at > first.computed_at
    assert again.clips.received == first.clips.received + 1


def test_each_campaign_has_its_own_report(world: World) -> None:
    reports = ReportCache(60.0, Clock())
    everything = reports.report(world.rt.sessions, None)
    one = reports.report(world.rt.sessions, world.campaign.slug)
    assert one.campaign is not None and one.campaign.slug == world.campaign.slug
    assert everything.campaign is None
    assert reports.report(world.rt.sessions, world.campaign.slug) is one


def test_an_unknown_campaign_is_refused_each_time_and_never_kept(world: World) -> None:
    reports = ReportCache(60.0, Clock())
    for _ in range(2):
        with pytest.raises(NotFound):
            reports.report(world.rt.sessions, "no-such-campaign")
    assert "no-such-campaign" not in reports._kept


def test_max_age_zero_computes_every_time(world: World) -> None:
    reports = ReportCache(0.0, Clock())
    first = reports.report(world.rt.sessions, None)
    world.clip_in_review()
    assert reports.report(world.rt.sessions, None).clips.received == first.clips.received + 1
    assert reports.cache_control() == "no-cache"


def test_the_api_says_how_long_its_report_keeps(settings: Settings, world: World) -> None:
    rt = Runtime.from_settings(settings.model_copy(update={"transparency_max_age_seconds": 5.0}))
    try:
        with TestClient(create_app(rt, run_worker=False)) as client:
            first = client.get("/api/v1/transparency")
            world.clip_in_review()
            second = client.get("/api/v1/transparency")
            page = client.get("/transparency")
    finally:
        rt.close()
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert second.json() == first.json(), "the same report, within its 5 s"
    assert page.status_code == 200
