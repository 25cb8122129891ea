"""The no_parking rule on hand-made tracks, and the config checks of both zone rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.config import ConfigError, NoParkingRule, parse_config
from pipeline.rules.no_parking import NoParking
from tests.pipeline.dwell_tracks import GEOMETRY, Sighting, approach_and_stop, drive

SPOT = (700.0, 650.0)
"""Inside the no-parking zone 'kerb-east' (allowed dwell 8 s, cars, trucks, buses)."""


def rule(**params: object) -> NoParking:
    return NoParking(NoParkingRule.model_validate(params), GEOMETRY)


def parked(stay_frames: int) -> list[Sighting]:
    return approach_and_stop(SPOT, arrive_frame=20, stay_frames=stay_frames)


def test_a_stay_beyond_the_dwell_is_flagged_once() -> None:
    found = drive(rule(), {1: parked(stay_frames=300)})
    assert len(found) == 1
    v = found[0]
    assert v.rule_type == "no_parking"
    assert v.offence_t == pytest.approx(10.0)
    assert v.measurements["zone"] == "kerb-east"
    assert v.measurements["dwell_s"] == pytest.approx(8.0)
    assert v.measurements["arrival_stream_s"] == pytest.approx(2.0)
    assert v.explanation == "car parked 8.0 s in no-parking zone 'kerb-east' (allowed 8 s)"


@pytest.mark.parametrize(
    ("tracks", "classes"),
    [
        # Dropping someone off is what a no-parking zone allows.
        pytest.param({1: parked(stay_frames=60)}, {}, id="drop-off-6s"),
        pytest.param({1: parked(stay_frames=300)}, {1: "motorbike"}, id="class-not-in-zone"),
        pytest.param(
            {1: approach_and_stop((300.0, 650.0), arrive_frame=20, stay_frames=300)},
            {},
            id="in-the-no-stopping-zone",
        ),
    ],
)
def test_look_alikes_are_not_flagged(
    tracks: dict[int, list[Sighting]], classes: dict[int, str]
) -> None:
    assert drive(rule(), tracks, classes=classes) == []


def test_two_vehicles_parked_side_by_side_are_two_stays() -> None:
    behind = approach_and_stop((560.0, 650.0), arrive_frame=20, stay_frames=200)
    ahead = approach_and_stop((820.0, 650.0), arrive_frame=30, stay_frames=200)
    found = drive(rule(), {1: behind, 2: ahead})
    assert sorted(v.track_id for v in found) == [1, 2]
    assert sorted(v.offence_t for v in found) == pytest.approx([10.0, 11.0])


def camera(scene: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cameras": [
            {
                "id": "kerb-cam",
                "name": "Kerb",
                "location": {"text": "Trang Tien", "lat": 21.02, "lon": 105.85},
                "source": {"url": "video.mp4"},
                "scene": scene,
                "rules": rules,
            }
        ]
    }


ZONE = {
    "id": "kerb",
    "kind": "no_parking",
    "polygon": [[0, 560], [480, 560], [480, 700], [0, 700]],
    "max_dwell_s": 30,
}


def with_zone(**changes: Any) -> dict[str, Any]:
    zone = copy.deepcopy(ZONE)
    zone.update(changes)
    return {"image_size": [1280, 720], "zones": [zone]}


def test_a_kerb_zone_config_validates() -> None:
    config = parse_config(camera(with_zone(), [{"type": "no_parking", "zones": ["kerb"]}]))
    assert config.cameras[0].rules[0].type == "no_parking"


@pytest.mark.parametrize(
    ("scene", "rules", "expected"),
    [
        (
            with_zone(polygon=[[0, 560], [480, 560], [960, 560]]),
            [{"type": "no_parking"}],
            "field scene.zones.0.polygon: Value error, polygon does not close",
        ),
        (
            with_zone(polygon=[[0, 560], [480, 700], [480, 560], [0, 650]]),
            [{"type": "no_parking"}],
            "field scene.zones.0.polygon: Value error, polygon does not close cleanly",
        ),
        (with_zone(max_dwell_s=0), [{"type": "no_parking"}], "field scene.zones.0.max_dwell_s"),
        (with_zone(kind="no_loading"), [{"type": "no_parking"}], "field scene.zones.0.kind"),
        (with_zone(classes=["tuk-tuk"]), [{"type": "no_parking"}], "unknown vehicle class"),
        (
            with_zone(polygon=[[0, 560], [1400, 560], [1400, 700], [0, 700]]),
            [{"type": "no_parking"}],
            "zone 'kerb' polygon point (1400, 560) is outside the 1280x720 image",
        ),
        (
            with_zone(),
            [{"type": "no_stopping"}],
            "rules.0 (no_stopping): needs at least one scene.zones entry of kind no_stopping",
        ),
        (
            with_zone(),
            [{"type": "no_parking", "zones": ["kerb", "corner"]}],
            "rules.0 (no_parking): zones names ['corner'], not no_parking zones",
        ),
        (
            with_zone(),
            [{"type": "no_parking", "stationary_radius_px": 0}],
            "field rules.0.no_parking.stationary_radius_px",
        ),
        (
            with_zone(),
            [{"type": "no_parking", "max_dwel_s": 10}],
            "field rules.0.no_parking.max_dwel_s: unknown key",
        ),
    ],
)
def test_broken_zone_configs_name_camera_and_field(
    scene: dict[str, Any], rules: list[dict[str, Any]], expected: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(camera(scene, rules), source="kerb.yaml")
    message = str(excinfo.value)
    assert "camera 'kerb-cam'" in message
    assert expected in message
