"""The cluster tests' fixture: one cluster per test module (see cluster_kit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_kit import start_cluster

from vidonate.ops.cluster import Cluster


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A module may set CLUSTER_SETTINGS (extra VIDONATE_ settings for every process)."""
    yield from start_cluster(getattr(request.module, "CLUSTER_SETTINGS", None))
