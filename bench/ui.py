"""Review UI latency on PostgreSQL with a million violations.

Usage:
    python bench/ui.py [--rows 1000000] [--requests 60] [--database-url postgresql://...]

Without `--database-url` it starts a throw-away PostgreSQL cluster (the same helper
the tests use) and removes it afterwards. It migrates the schema, seeds `--rows`
violations over a year on 60 cameras with one INSERT ... SELECT over
generate_series (about 5 % still pending, the rest decided; the daily-count
triggers run for every row, as they would for the worker), runs VACUUM ANALYZE, starts
the real app under uvicorn in a separate process and times real HTTP requests
from this one: the officers' queue page, filtered history pages (page and API),
and per-day / per-camera aggregates. It prints p50/p95 per request kind.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.events.broker import free_port  # noqa: E402
from pipeline.store.db import open_database  # noqa: E402
from pipeline.store.users import add_user  # noqa: E402

PASSWORD = "bench-password-1"
CAMERAS = 60

SEED_SQL = """
INSERT INTO violations (
    id, camera_id, rule_type, rule_version, track_id, vehicle_class, offence_time,
    stream_time_s, first_evidence_time, last_evidence_time, measurements, explanation,
    scene_version, plate, plate_confidence, status, evidence_dir, created_at)
SELECT
    md5(i::text)::uuid::text,
    'cam-' || lpad((i % :cameras)::text, 3, '0'),
    (ARRAY['red_light', 'red_light', 'speeding', 'wrong_lane', 'no_helmet'])[1 + i % 5],
    '1', i, (ARRAY['motorbike', 'motorbike', 'motorbike', 'car', 'truck', 'bus'])[1 + i % 6],
    t, 0, t - interval '2 seconds', t + interval '2 seconds',
    '{"time_into_red_s": 1.5}'::json, 'seeded', 'bench',
    (ARRAY['29A', '30E', '51F', '88A', '29B1'])[1 + (i / 7) % 5] || '-'
        || lpad((i % 1000)::text, 3, '0') || '.' || lpad((i % 97)::text, 2, '0'),
    0.9,
    CASE WHEN i > :rows * 0.95 THEN 'pending'
         WHEN i % 4 = 0 THEN 'rejected' ELSE 'confirmed' END,
    md5(i::text)::uuid::text, t
FROM (
    SELECT i, timestamptz '2025-01-01 00:00:00+00'
              + (i * (31536000.0 / :rows)) * interval '1 second' AS t
    FROM generate_series(1, :rows) AS i
) AS s
"""


def start_postgres() -> tuple[str, Callable[[], None]]:
    from tests.fixtures.postgres import _start_server, _stop_server, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    server = _start_server(bin_dir)
    with server.admin_connection() as connection:
        connection.execute('CREATE DATABASE "bench"')
    return server.url("bench"), lambda: _stop_server(server)


def seed(url: str, rows: int) -> None:
    engine, factory = open_database(url)
    with factory() as db:
        if db.execute(text("SELECT count(*) FROM violations")).scalar_one() >= rows:
            print(f"database already holds {rows} violations; not seeding")
            engine.dispose()
            return
        started = time.perf_counter()
        db.execute(
            text(
                "INSERT INTO cameras (id, name, location_text, lat, lon, updated_at) "
                "SELECT 'cam-' || lpad(c::text, 3, '0'), 'Camera ' || c, 'Junction ' || c, "
                "21.0, 105.8, now() FROM generate_series(0, :n - 1) AS c"
            ),
            {"n": CAMERAS},
        )
        db.execute(text(SEED_SQL), {"rows": rows, "cameras": CAMERAS})
        add_user(db, "officer", PASSWORD, "police")
        add_user(db, "analyst", PASSWORD, "analyst")
        db.commit()
        print(f"seeded {rows} violations in {time.perf_counter() - started:.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def serve(url: str, port: int) -> None:
    import uvicorn

    from pipeline.config import AppConfig
    from review_ui.app import create_app

    app = create_app(AppConfig(database_url=url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def logged_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return client


def measure(client: httpx.Client, path: str, requests: int) -> tuple[float, float]:
    for _ in range(3):  # warm the pool and PostgreSQL's caches
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    stop: Callable[[], None] = lambda: None  # noqa: E731
    url = args.database_url
    if url is None:
        url, stop = start_postgres()
    process = None
    try:
        seed(url, args.rows)
        port = free_port()
        process = multiprocessing.get_context("spawn").Process(
            target=serve, args=(url, port), daemon=True
        )
        process.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the app did not start")
            time.sleep(0.1)

        officer, analyst = logged_in(base, "officer"), logged_in(base, "analyst")
        month = "start=2025-06-01T00:00&end=2025-07-01T00:00"
        # A deep page: follow two cursors first.
        cursor = None
        for _ in range(2):
            query = "/api/v1/history?vehicle_class=car" + (f"&cursor={cursor}" if cursor else "")
            cursor = analyst.get(query).json()["next_cursor"]
        history = "/api/v1/history"
        counts = "/api/v1/history/counts"
        cases = [
            ("queue page (police)", officer, "/queue", 150),
            ("queue page, camera+rule", officer,
             "/queue?camera_id=cam-007&rule_type=speeding", 150),
            ("history API, camera+status+month", analyst,
             f"{history}?camera_id=cam-007&status=confirmed&{month}", 150),
            ("history API, plate prefix", analyst, f"{history}?plate_prefix=29B1-12", 150),
            ("history API, 3rd page, car", analyst,
             f"{history}?vehicle_class=car&cursor={cursor}", 150),
            ("history page (HTML), unfiltered", analyst, "/history", 150),
            ("history page (HTML), camera+month", analyst,
             f"/history?camera_id=cam-007&{month}", 150),
            ("per-day counts, one month", analyst, f"{counts}?by=day&{month}", 300),
            ("per-day counts, whole year", analyst, f"{counts}?by=day", 300),
            ("per-hour counts, one month", analyst, f"{counts}?by=hour&{month}", 300),
            ("per-camera counts, one month", analyst, f"{counts}?by=camera&{month}", 300),
            ("per-rule counts, whole year", analyst, f"{counts}?by=rule", 300),
            # Filters the daily rollup does not keep: counted from the rows.
            ("per-day counts, whole year, cars", analyst,
             f"{counts}?by=day&vehicle_class=car", 300),
            ("per-day counts, one month, plate 29A", analyst,
             f"{counts}?by=day&plate_prefix=29A&{month}", 300),
            ("CSV export, one camera, one month", analyst,
             f"/history.csv?camera_id=cam-007&{month}", 1000),
        ]  # fmt: skip

        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"\n{args.rows} violations, {args.requests} requests each, milliseconds")
        print(f"{os.cpu_count()} CPUs, load average at start {load}")
        print(f"{'request':40} {'p50':>8} {'p95':>8} {'aim':>6}")
        for name, client, path, aim in cases:
            p50, p95 = measure(client, path, args.requests)
            flag = "" if p95 < aim else "  over"
            print(f"{name:40} {p50:8.1f} {p95:8.1f} {aim:6d}{flag}")
    finally:
        if process is not None:
            process.terminate()
            process.join(10)
        stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
