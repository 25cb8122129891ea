"""The analysts' history on SQLite and PostgreSQL: filters, keyset pages, counts, CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import AppConfig, EvidenceConfig
from pipeline.store import queries, repository
from pipeline.store.db import open_database
from pipeline.store.models import Violation
from pipeline.store.queries import HistoryFilter
from pipeline.store.users import add_user
from review_ui.app import create_app
from tests.factories import make_violation
from tests.review_ui.conftest import (
    PASSWORD,
    LiveServer,
    add_camera,
    add_plain_violation,
    log_in,
    serve,
    shot,
)

BASE = datetime(2025, 3, 10, 0, 15, tzinfo=UTC)
LOCAL = timedelta(hours=7)
DAY_START = datetime(2025, 3, 11, tzinfo=UTC)
RULES = ("red_light", "speeding", "wrong_lane")
STATUSES = ("pending", "confirmed", "rejected")


@dataclass(frozen=True)
class History:
    server: LiveServer
    session_factory: sessionmaker[Session]
    rows: list[Violation]


def seeded_rows() -> list[Violation]:
    rows = []
    for i in range(41):
        # Steps of 2 h 13 min cross local midnight (17:00 UTC) on several days.
        offence = BASE + i * timedelta(hours=2, minutes=13)
        plate = None if i % 7 == 0 else f"{29 if i % 2 else 30}A-{i:03d}.45"
        rows.append(
            make_violation(
                id=f"v-{i:03d}",
                camera_id="cam-1" if i % 3 else "cam-2",
                rule_type=RULES[i % 3 if i % 5 else 0],
                vehicle_class="car" if i % 4 == 0 else "motorbike",
                offence_time=offence,
                plate=plate,
                status=STATUSES[i % 3],
            )
        )
    # Two at the same instant: the keyset must order them by id and lose neither.
    rows.append(
        make_violation(
            id="v-tie",
            camera_id="cam-1",
            rule_type="red_light",
            vehicle_class="motorbike",
            offence_time=rows[20].offence_time,
            plate="29A-TIE.00",
            status="pending",
        )
    )
    return rows


@pytest.fixture
def history(database_url: str, tmp_path: Path) -> Iterator[History]:
    engine, factory = open_database(database_url)
    rows = seeded_rows()
    with factory() as db:
        add_camera(db, "cam-1", "Kim Ma")
        add_camera(db, "cam-2", "Lang Ha")
        db.flush()
        for row in rows:
            add_plain_violation(
                db,
                row.id,
                offence=row.offence_time,
                camera_id=row.camera_id,
                rule_type=row.rule_type,
                vehicle_class=row.vehicle_class,
                plate=row.plate,
                status=row.status,
            )
        # `counter` may see plates; `blind` is an analyst without that permission.
        add_user(db, "counter", PASSWORD, "analyst").plate_access = True
        add_user(db, "blind", PASSWORD, "analyst")
        add_user(db, "officer", PASSWORD, "police")
        db.commit()
    config = AppConfig(database_url=database_url, evidence=EvidenceConfig(path=tmp_path))
    app = create_app(config, session_factory=factory)
    with serve(app) as live:
        yield History(live, factory, rows)
    engine.dispose()


@pytest.fixture
def analyst(history: History) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=history.server.url, timeout=30) as http:
        assert log_in(http, "counter").status_code == 303
        yield http


def newest_first(rows: list[Violation]) -> list[Violation]:
    return sorted(rows, key=lambda v: (v.offence_time, v.id), reverse=True)


def all_pages(http: httpx.Client, **params: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": "7", **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/history", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


FILTERS = [
    ({}, lambda v: True),
    ({"camera_id": "cam-2"}, lambda v: v.camera_id == "cam-2"),
    ({"rule_type": "speeding", "status": "confirmed"},
     lambda v: v.rule_type == "speeding" and v.status == "confirmed"),
    ({"vehicle_class": "car"}, lambda v: v.vehicle_class == "car"),
    ({"plate_prefix": "29a"}, lambda v: (v.plate or "").startswith("29A")),
    ({"plate_prefix": "%"}, lambda v: False),  # LIKE wildcards are matched literally
    # Local times: 2025-03-11 07:00 to 2025-03-12 07:00 in Ha Noi is 00:00 to 00:00 UTC.
    ({"start": "2025-03-11T07:00", "end": "2025-03-12T07:00"},
     lambda v: DAY_START <= v.offence_time < DAY_START + timedelta(days=1)),
]  # fmt: skip


@pytest.mark.parametrize(("params", "keep"), FILTERS)
def test_api_pages_through_exactly_the_matching_rows(
    analyst: httpx.Client, history: History, params: dict[str, str], keep: object
) -> None:
    expected = [v.id for v in newest_first([v for v in history.rows if keep(v)])]  # type: ignore[operator]
    assert all_pages(analyst, **params) == expected


@pytest.mark.parametrize("by", ["hour", "day", "camera", "rule"])
def test_counts_match_the_rows(analyst: httpx.Client, history: History, by: str) -> None:
    def label(v: Violation) -> str:
        local = v.offence_time + LOCAL
        return {
            "hour": local.strftime("%Y-%m-%d %H:00"),
            "day": local.strftime("%Y-%m-%d"),
            "camera": v.camera_id,
            "rule": v.rule_type,
        }[by]

    expected = Counter(label(v) for v in history.rows if v.status != "rejected")
    got = analyst.get("/api/v1/history/counts", params={"by": by, "status": "pending"}).json()
    got_confirmed = analyst.get(
        "/api/v1/history/counts", params={"by": by, "status": "confirmed"}
    ).json()
    merged = Counter({c["label"]: c["count"] for c in got["counts"]})
    merged.update({c["label"]: c["count"] for c in got_confirmed["counts"]})
    assert merged == expected
    labels = [c["label"] for c in got["counts"]]
    assert labels == sorted(labels)


def db_rows(history: History, **where: str) -> list[Violation]:
    with history.session_factory() as db:
        query = select(Violation).order_by(Violation.offence_time.desc(), Violation.id.desc())
        for name, value in where.items():
            query = query.where(getattr(Violation, name) == value)
        return list(db.scalars(query))


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_csv_equals_db(records: list[dict[str, str]], rows: list[Violation]) -> None:
    assert [r["id"] for r in records] == [v.id for v in rows]
    for record, row in zip(records, rows, strict=True):
        assert datetime.fromisoformat(record["offence_time_utc"]) == row.offence_time
        assert datetime.fromisoformat(record["offence_time_local"]) == row.offence_time
        assert record["offence_time_local"].endswith("+07:00")
        assert (record["camera_id"], record["rule_type"], record["vehicle_class"]) == (
            row.camera_id,
            row.rule_type,
            row.vehicle_class,
        )
        assert (record["plate"] or None, record["status"]) == (row.plate, row.status)


def test_csv_export_equals_the_database(analyst: httpx.Client, history: History) -> None:
    response = analyst.get("/history.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert_csv_equals_db(parse_csv(response.text), db_rows(history))
    filtered = analyst.get("/history.csv", params={"camera_id": "cam-2", "status": "pending"})
    assert_csv_equals_db(
        parse_csv(filtered.text), db_rows(history, camera_id="cam-2", status="pending")
    )


def test_history_page_shows_filters_total_and_a_next_page(
    analyst: httpx.Client, history: History
) -> None:
    page = analyst.get("/history", params={"camera_id": "cam-1", "limit": "10"})
    assert page.status_code == 200
    expected = [v for v in history.rows if v.camera_id == "cam-1"]
    assert f'data-total="{len(expected)}"' in page.text
    assert page.text.count("<tr data-violation-id=") == 10
    assert 'id="next-page"' in page.text
    assert 'href="/history.csv?camera_id=cam-1"' in page.text


@pytest.mark.parametrize(
    ("params", "status_code"),
    [({"cursor": "not-a-cursor"}, 400), ({"camera": "cam-1"}, 422), ({"status": "lost"}, 422)],
)
def test_bad_history_queries_are_refused(
    analyst: httpx.Client, params: dict[str, str], status_code: int
) -> None:
    assert analyst.get("/api/v1/history", params=params).status_code == status_code


def test_officers_cannot_read_the_history(history: History) -> None:
    with httpx.Client(base_url=history.server.url) as http:
        log_in(http, "officer")
        assert http.get("/api/v1/history").status_code == 403
        assert http.get("/history.csv").status_code == 403


def test_without_plate_access_plates_are_masked_and_not_searchable(history: History) -> None:
    with httpx.Client(base_url=history.server.url, timeout=30) as http:
        assert log_in(http, "blind").status_code == 303
        plates = {v.plate for v in history.rows if v.plate}
        items = http.get("/api/v1/history", params={"limit": "500"}).json()["items"]
        assert len(items) == len(history.rows)
        for item in items:
            assert item["plate"] not in plates
            if item["plate"] is not None:
                assert item["plate"][:2].isdigit() and "*" in item["plate"]
        exported = http.get("/history.csv")
        assert exported.status_code == 200
        assert not any(plate in exported.text for plate in plates)
        page = http.get("/history")
        assert page.status_code == 200 and not any(plate in page.text for plate in plates)
        assert 'id="f-plate"' not in page.text
        assert 'href="/violations/' not in page.text  # analysts do not open violations
        for path in ("/api/v1/history", "/api/v1/history/counts", "/history.csv", "/history"):
            refused = http.get(path, params={"plate_prefix": "29A"})
            assert refused.status_code == 403, path
            assert "plate_prefix" in refused.text


def test_csv_cells_cannot_start_a_formula(analyst: httpx.Client, history: History) -> None:
    with history.session_factory() as db:
        add_plain_violation(
            db,
            "v-formula",
            offence=BASE + timedelta(days=3),
            rule_type="=HYPERLINK(1)",
            vehicle_class="@SUM(A1)",
            plate="+1",
        )
        add_plain_violation(
            db, "v-formula-2", offence=BASE + timedelta(days=3, hours=1), rule_type="-2+3",
            vehicle_class="\tcar", plate="\r=1",
        )  # fmt: skip
        db.commit()
    records = {r["id"]: r for r in parse_csv(analyst.get("/history.csv").text)}
    first, second = records["v-formula"], records["v-formula-2"]
    assert (first["rule_type"], first["vehicle_class"], first["plate"]) == (
        "'=HYPERLINK(1)",
        "'@SUM(A1)",
        "'+1",
    )
    assert (second["rule_type"], second["vehicle_class"], second["plate"]) == (
        "'-2+3",
        "'\tcar",
        "'\r=1",
    )
    # Ordinary cells are untouched (times, ids, plates).
    assert records["v-001"]["offence_time_utc"][0].isdigit()


@pytest.mark.browser
def test_analyst_filters_sees_charts_and_downloads_the_csv(
    chromium: Browser, history: History, tmp_path: Path
) -> None:
    server = history.server
    context = chromium.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 1000}, accept_downloads=True
    )
    foreign: list[str] = []
    context.on(
        "request",
        lambda request: None if request.url.startswith(server.url) else foreign.append(request.url),
    )
    page = context.new_page()
    try:
        page.goto("/language/en")
        page.goto("/login")
        page.fill("input[name=username]", "counter")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.click("#nav-history")
        expect(page.locator("#chart-hour-needs-range")).to_be_visible()
        # Local times, as the analyst types them.
        page.fill("#f-start", "2025-03-01T00:00")
        page.fill("#f-end", "2025-03-31T00:00")
        page.select_option("#f-camera", "cam-2")
        page.select_option("#f-status", "pending")
        page.click("#f-apply")
        expected = db_rows(history, camera_id="cam-2", status="pending")
        expect(page.locator("#history-total")).to_have_attribute("data-total", str(len(expected)))
        for by in ("hour", "day", "camera", "rule"):
            chart = page.locator(f"#chart-{by}")
            expect(chart).to_have_attribute("data-total", str(len(expected)))
        # Chart.js drew the bars: the canvas holds coloured pixels, not a blank sheet.
        painted = page.locator("#chart-day").evaluate(
            """c => {
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            }"""
        )
        assert painted > 1000
        expect(page.locator("#chart-camera")).to_have_attribute("data-points", "1")
        shot(page, "history")
        with page.expect_download() as download_info:
            page.click("#csv-link")
        path = tmp_path / "export.csv"
        download_info.value.save_as(path)
        assert_csv_equals_db(parse_csv(path.read_text(encoding="utf-8")), expected)
    finally:
        context.close()
    assert foreign == []


ROLLUP_FILTERS = [
    HistoryFilter(),
    HistoryFilter(camera_id="cam-2"),
    HistoryFilter(rule_type="speeding", status="confirmed"),
    HistoryFilter(start=DAY_START - LOCAL, end=DAY_START - LOCAL + timedelta(days=2)),
]


def assert_rollup_matches_rows(history: History) -> None:
    with history.session_factory() as db:
        for f in ROLLUP_FILTERS:
            for by in ("day", "camera", "rule"):
                assert queries.rollup_serves(f, by)
                assert queries.counts(db, f, by=by) == queries.counts_from_rows(db, f, by=by), (
                    f,
                    by,
                )


def test_daily_rollup_follows_inserts_reviews_moves_and_deletes(history: History) -> None:
    """Triggers keep the rollup equal to counting the rows, whoever writes."""
    assert_rollup_matches_rows(history)
    with history.session_factory() as db:
        # v-000 is pending: an officer decides it; v-001 is confirmed: only a
        # supervisor's reversal may change it now.
        repository.add_review(db, violation_id="v-000", reviewer="officer", decision="rejected")
        repository.reverse_decision(
            db, violation_id="v-001", supervisor="admin", decision="rejected", reason="wrong plate"
        )
        moved = db.get(Violation, "v-003")
        assert moved is not None
        moved.offence_time += timedelta(days=1)
        moved.camera_id = "cam-2"
        db.delete(db.get(Violation, "v-004"))
        add_plain_violation(db, "v-new", offence=BASE + timedelta(days=1, hours=20))
        db.commit()
    assert_rollup_matches_rows(history)


def test_counts_outside_the_rollup_come_from_the_rows(history: History) -> None:
    not_whole_days = HistoryFilter(start=DAY_START + timedelta(hours=3))
    assert not queries.rollup_serves(not_whole_days, "day")
    assert not queries.rollup_serves(HistoryFilter(vehicle_class="car"), "camera")
    assert not queries.rollup_serves(HistoryFilter(), "hour")
    with history.session_factory() as db:
        got = dict(queries.counts(db, not_whole_days, by="day"))
    first_local_day = (DAY_START + timedelta(hours=3) + LOCAL).date().isoformat()
    expected = Counter(
        (v.offence_time + LOCAL).date().isoformat()
        for v in history.rows
        if v.offence_time >= DAY_START + timedelta(hours=3)
    )
    assert got == dict(expected) and first_local_day in got
