"""Generated requests against every route as every role: no 5xx, no exception out of
the app, and a rejected request changes nothing (bench/fuzz_api.py runs 10,000)."""

from __future__ import annotations

from pathlib import Path

from tests.review_ui.fuzzing import ROLES, build_world, run_fuzz


def test_generated_requests_find_no_server_error_or_state_change(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    try:
        report = run_fuzz(world, 200)
    finally:
        world.close()
    assert report.findings == [], report.summary()
    assert report.server_errors == 0
    assert report.requests == 200
    assert set(report.by_role) == set(ROLES)
    # The generated document covers the HTML routes too, not only the JSON API; 200
    # requests over ~30 operations reach most of them (which ones depends on the app).
    routes = set(report.by_route)
    assert len({r for r in routes if " /api/" not in r}) >= 10
    assert len({r for r in routes if " /api/" in r}) >= 3
    assert report.rejected_checked > 50
