"""Generated requests against every route of the review UI, as every role.

The app's own OpenAPI document describes the JSON API; the HTML routes are left
out of it, so the fuzzer builds a second document with every route in it and lets
schemathesis generate requests (valid and invalid) from that. Each request goes to
the real app on a real, seeded SQLite database, as one of: nobody, a police
officer, an operator, an analyst, an admin (each logged in through the login
form) or a signal controller (a bearer token). Some requests are nudged towards
the deeper code: a valid CSRF token, a real violation id, a known camera and head,
a recent time.

Findings are: a 5xx response, an exception out of the app (the test client
re-raises it), and a rejected request (4xx) that changed a table other than the
audit log and the login throttle.

Used by tests/review_ui/test_fuzz.py (a few hundred requests) and
bench/fuzz_api.py (ten thousand).
"""

from __future__ import annotations

import copy
import json
import re
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode
    from starlette.testclient import TestClient

from pipeline.config import AppConfig, CameraConfig, EvidenceConfig
from pipeline.store import repository
from pipeline.store.api_tokens import add_token
from pipeline.store.db import open_database
from pipeline.store.users import add_user
from review_ui.app import create_app
from tests.pipeline.signal_scene import CAMERA_ID, HEAD_ID, camera_dict
from tests.review_ui.conftest import IMAGE_KINDS, _add_violation

PASSWORD = "fuzz password, long enough"
# Names a generator is unlikely to guess, so its failed logins never throttle them.
USERS = {
    "police": "fuzz_police_7f3a",
    "operator": "fuzz_operator_7f3a",
    "analyst": "fuzz_analyst_7f3a",
    "admin": "fuzz_admin_7f3a",
}
ROLES = ("anonymous", *USERS, "controller")
CONTROLLER_ID = "fuzz-ctl-1"
VIOLATIONS = ("33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444")
# Tables a rejected request may still write: who tried what, and the failed-login counts.
MAY_CHANGE_WHEN_REJECTED = frozenset({"audit_log", "login_throttle", "alembic_version"})
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Pages that carry a CSRF token, one of which every role may see.
_CSRF_PAGES = ("/violations", "/queue", "/cameras", "/history", "/admin/audit", "/login")


@dataclass
class Finding:
    """One thing that went wrong, with the request that did it."""

    kind: str
    role: str
    request: str
    detail: str


@dataclass
class FuzzReport:
    """What a run did and found."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    by_role: Counter[str] = field(default_factory=Counter)
    rejected_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        lines = [
            f"requests: {self.requests}",
            f"5xx: {self.server_errors}",
            f"rejected (4xx) requests whose state was compared: {self.rejected_checked}",
            f"findings: {len(self.findings)}",
            "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
            "roles: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.by_role.items())),
            "routes:",
            *(f"  {n:6} {route}" for route, n in sorted(self.by_route.items())),
        ]
        for finding in self.findings[:20]:
            lines.append(f"FINDING {finding.kind} as {finding.role}: {finding.request}")
            lines.append("  " + finding.detail.strip().replace("\n", "\n  ")[-1500:])
        return "\n".join(lines)


@dataclass
class World:
    """The seeded database, the app and one logged-in client per role."""

    app: FastAPI
    session_factory: sessionmaker[Session]
    schema: Any
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    token: str
    evidence_names: list[str]
    _addresses: Iterator[int] = field(default_factory=lambda: iter(range(10, 10**6)))

    def relogin(self, role: str) -> None:
        """Log `role` in again (after a generated logout), from a fresh client address."""
        if role in self.clients:
            self.clients[role].close()
        self.clients[role] = _client(self.app, next(self._addresses))
        if role in USERS:
            http = self.clients[role]
            page = http.get("/login")
            response = http.post(
                "/login",
                data={"username": USERS[role], "password": PASSWORD, "csrf_token": _token(page)},
            )
            assert response.status_code == 303, f"{role} cannot log in: {response.status_code}"
        self.csrf[role] = _page_csrf(self.clients[role])

    def close(self) -> None:
        for http in self.clients.values():
            http.close()


def _token(page: Any) -> str:
    match = _CSRF.search(page.text)
    assert match, "login page has no CSRF token"
    return match.group(1)


def _page_csrf(http: TestClient) -> str:
    for path in _CSRF_PAGES:
        response = http.get(path)
        match = _CSRF.search(response.text) if response.status_code == 200 else None
        if match:
            return match.group(1)
    raise AssertionError("no page shows a CSRF token")


def _client(app: FastAPI, address: int) -> TestClient:
    # https: a session cookie marked Secure is only sent back over https.
    return TestClient(
        app,
        base_url="https://testserver",
        follow_redirects=False,
        raise_server_exceptions=True,
        client=(f"10.{address // 65536 % 256}.{address // 256 % 256}.{address % 256}", 50000),
    )


def _every_route_schema(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the HTML routes in it too."""
    routes: list[APIRoute] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            routes.append(route)
        # Included routers keep their routes behind a context (FastAPI >= 0.16x).
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            routes.extend(
                c.original_route for c in contexts() if isinstance(c.original_route, APIRoute)
            )
    visible = []
    for route in routes:
        # A copy: the routers are module-level objects that other apps share.
        shown = copy.copy(route)
        shown.include_in_schema = True
        visible.append(shown)
    spec: dict[str, Any] = get_openapi(title=app.title, version=app.version, routes=visible)
    return spec


def build_world(root: Path) -> World:
    """Seed a SQLite database under `root` and start the app on it."""
    root.mkdir(parents=True, exist_ok=True)
    evidence = root / "evidence"
    engine, factory = open_database(f"sqlite:///{root / 'trafficcam.db'}")
    with factory() as db:
        repository.upsert_camera(
            db, camera_id=CAMERA_ID, name="Fuzz", location_text="nowhere", lat=21.0, lon=105.8
        )
        db.flush()
        for minutes, violation_id in enumerate(VIOLATIONS):
            _add_violation(db, evidence, violation_id, camera_id=CAMERA_ID, minutes=minutes)
        for role, username in USERS.items():
            add_user(db, username, PASSWORD, role)
        token = add_token(
            db,
            "fuzz-controller",
            "signal-controller",
            cameras=[CAMERA_ID],
            controller_id=CONTROLLER_ID,
        ).token
        db.commit()
    config = AppConfig(
        database_url=f"sqlite:///{root / 'trafficcam.db'}",
        evidence=EvidenceConfig(path=evidence),
        cameras=[CameraConfig.model_validate(camera_dict(source="auto"))],
    )
    app = create_app(config, session_factory=factory)
    schema = schemathesis.openapi.from_dict(_every_route_schema(app))
    world = World(
        app=app,
        session_factory=factory,
        schema=schema,
        clients={},
        csrf={},
        token=token,
        evidence_names=[f"{kind}.jpg" for kind in IMAGE_KINDS],
    )
    for role in ROLES:
        world.relogin(role)
    return world


def dump_state(factory: sessionmaker[Session]) -> dict[str, list[str]]:
    """Every row of every table a rejected request must not change."""
    with factory() as db:
        tables = inspect(db.get_bind()).get_table_names()
        return {
            table: sorted(repr(tuple(row)) for row in db.execute(text(f'SELECT * FROM "{table}"')))
            for table in sorted(tables)
            if table not in MAY_CHANGE_WHEN_REJECTED
        }


def _state_diff(before: dict[str, list[str]], after: dict[str, list[str]]) -> str:
    lines = []
    for table in sorted(set(before) | set(after)):
        old, new = set(before.get(table, [])), set(after.get(table, []))
        for row in sorted(old - new)[:3]:
            lines.append(f"{table} - {row[:300]}")
        for row in sorted(new - old)[:3]:
            lines.append(f"{table} + {row[:300]}")
    return "\n".join(lines)


def _nudge(case: Any, role: str, world: World, draw: Any) -> None:
    """Point some generated requests at real rows and valid credentials."""
    params = case.path_parameters or {}
    if "violation_id" in params and draw(st.booleans()):
        params["violation_id"] = draw(st.sampled_from(VIOLATIONS))
    if "name" in params and draw(st.booleans()):
        params["name"] = draw(
            st.sampled_from([*world.evidence_names, "unregistered.jpg", "../trafficcam.db"])
        )
    if "head" in params and draw(st.booleans()):
        params["head"] = HEAD_ID
    if isinstance(case.body, dict):
        if "camera_id" in case.body and draw(st.booleans()):
            case.body["camera_id"] = CAMERA_ID
        if "controller_id" in case.body and draw(st.booleans()):
            case.body["controller_id"] = CONTROLLER_ID
        if "changed_at" in case.body and draw(st.booleans()):
            ago = draw(st.floats(min_value=0.0, max_value=3600.0))
            case.body["changed_at"] = (datetime.now(UTC) - timedelta(seconds=ago)).isoformat()
    if case.method.upper() == "POST" and not case.path.startswith("/api/"):
        if case.body is None or case.body == "":
            case.body = {}
        if isinstance(case.body, dict) and draw(st.integers(0, 3)) > 0:
            case.body["csrf_token"] = world.csrf[role]


def _request(case: Any) -> tuple[str, str, dict[str, Any]]:
    params = case.path_parameters or {}
    path = case.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    kwargs: dict[str, Any] = {"params": case.query or None}
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    body = case.body
    media = case.media_type or ""
    if case.method.upper() == "POST" and body is not None:
        if "json" in media:
            kwargs["content"] = json.dumps(body, default=str).encode()
            headers["content-type"] = "application/json"
        elif isinstance(body, dict):
            kwargs["data"] = {
                k: v if isinstance(v, str | list) else json.dumps(v, default=str)
                for k, v in body.items()
            }
        else:
            kwargs["content"] = str(body).encode("utf-8", "surrogatepass")
            headers["content-type"] = media or "application/octet-stream"
    kwargs["headers"] = headers
    return case.method.upper(), path, kwargs


def run_fuzz(world: World, requests: int, *, seed: int | None = None) -> FuzzReport:
    """Send `requests` generated requests; collect findings instead of stopping at one."""
    report = FuzzReport()
    operations = [result.ok() for result in world.schema.get_all_operations()]
    strategies = {
        (op.method.upper(), op.path, mode): op.as_strategy(generation_mode=mode)
        for op in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    }
    keys = sorted(strategies, key=lambda k: (k[0], k[1], k[2].value))
    state = [dump_state(world.session_factory)]

    @settings(
        max_examples=requests,
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one(data: st.DataObject) -> None:
        role = data.draw(st.sampled_from(ROLES), label="role")
        key = data.draw(st.sampled_from(keys), label="operation")
        try:
            case = data.draw(strategies[key], label="case")
        except Exception:  # noqa: BLE001  # an unsatisfiable negative schema: draw again
            case = data.draw(strategies[(key[0], key[1], GenerationMode.POSITIVE)])
        _nudge(case, role, world, data.draw)
        method, path, kwargs = _request(case)
        if role == "controller":
            kwargs["headers"].setdefault("authorization", f"Bearer {world.token}")
        described = f"{method} {path} {kwargs}"[:600]
        report.requests += 1
        report.by_route[f"{key[0]} {key[1]}"] += 1
        report.by_role[role] += 1
        try:
            response = world.clients[role].request(method, path, **kwargs)
        except Exception:  # noqa: BLE001  # the app raised: a finding, then carry on
            report.statuses[599] += 1
            report.findings.append(
                Finding("exception", role, described, traceback.format_exc(limit=-10))
            )
            state[0] = dump_state(world.session_factory)
            return
        report.statuses[response.status_code] += 1
        after = dump_state(world.session_factory)
        if response.status_code >= 500:
            report.findings.append(
                Finding(f"status {response.status_code}", role, described, response.text[:800])
            )
        elif response.status_code >= 400:
            report.rejected_checked += 1
            if after != state[0]:
                report.findings.append(
                    Finding(
                        f"rejected ({response.status_code}) but changed state",
                        role,
                        described,
                        _state_diff(state[0], after),
                    )
                )
        state[0] = after
        location = response.headers.get("location", "")
        lost = response.status_code == 401 or location.startswith("/login")
        if role in USERS and (lost or path == "/logout"):
            world.relogin(role)
            state[0] = dump_state(world.session_factory)

    if seed is not None:
        one = hypothesis.seed(seed)(one)
    one()
    return report
