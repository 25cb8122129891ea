"""Writers for a generated scenario's files: video, truth, camera config, boxes."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import yaml

from pipeline.evaluation.scenario.painter import Image
from pipeline.evaluation.scenario.script import FrameTruth, Script

TRUTH_WINDOW_S = 0.5
"""Half-width of each truth window around the exact crossing moment."""


class VideoWriter:
    """Encode BGR frames to H.264 (yuv420p, one keyframe per second) in an MP4.

    Example:
        >>> with VideoWriter(Path("out.mp4"), fps=10) as writer:  # doctest: +SKIP
        ...     writer.write(frame)
    """

    def __init__(self, path: Path, *, fps: int) -> None:
        """Open `path` for writing at `fps`; pts are frame numbers in a 1/fps time base."""
        self._fps = fps
        self._container: Any = av.open(str(path), mode="w")
        self._stream: Any = None
        self._index = 0

    def write(self, frame: Image) -> None:
        """Encode one BGR uint8 frame; every frame must have the first one's size."""
        if self._stream is None:
            fps = self._fps
            stream = self._container.add_stream("libx264", rate=fps)
            stream.width, stream.height = frame.shape[1], frame.shape[0]
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.codec_context.gop_size = fps
            # A fixed GOP (no scene-cut keyframes) keeps clips keyframe-aligned at
            # exactly 1 s; crf 20 keeps the photographs' detail for the detector.
            stream.options = {
                "crf": "20",
                "preset": "veryfast",
                "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0",
            }
            self._stream = stream
        video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
        video_frame.pts = self._index
        self._index += 1
        self._container.mux(self._stream.encode(video_frame))

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._stream is not None:
            self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def truth_document(script: Script) -> dict[str, Any]:
    """The `truth.yaml` content: exactly the offences staged in the script."""
    return {
        "violations": [
            {
                "rule": o.rule,
                "t_start": round(o.t_start, 2),
                "t_end": round(o.t_end, 2),
                "vehicle": o.kind,
            }
            for o in script.truth(TRUTH_WINDOW_S)
        ]
    }


def config_document(script: Script, video_name: str, input_size: int) -> dict[str, Any]:
    """The camera config (`trafficcam.yaml`) for the generated video."""
    layout = script.layout
    (x1, y1), (x2, y2) = layout.stop_line
    return {
        "database_url": "sqlite:///trafficcam.db",
        "evidence": {"path": "evidence"},
        "detector": {"model": "yolov3-tiny", "input_size": input_size, "confidence": 0.25},
        "cameras": [
            {
                "id": f"scenario-{script.name.replace('_', '-')}",
                "name": f"Generated junction ({script.name})",
                "location": {
                    "text": "Generated scene, Ly Thuong Kiet x Hang Bai style",
                    "lat": 21.0245,
                    "lon": 105.8520,
                },
                "source": {
                    "url": video_name,
                    "loop": False,
                    "realtime": False,
                    **(
                        {"recorded_at": script.recorded_at.isoformat()}
                        if script.recorded_at is not None
                        else {}
                    ),
                },
                "analysis_fps": script.fps,
                "scene": {
                    "image_size": [layout.width, layout.height],
                    "stop_line": {
                        "points": [[x1, y1], [x2, y2]],
                        "junction_side": list(layout.junction_point),
                    },
                    "signal_heads": [{"id": "main", "region": list(layout.lamp_region())}],
                    **script.scene,
                },
                "rules": [dict(rule) for rule in script.rules],
            }
        ],
    }


class _Dumper(yaml.SafeDumper):
    """Block style, except short lists of scalars (points, boxes) which read best inline."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    inline = all(isinstance(item, int | float | str | bool) for item in data)
    inline = inline or all(
        isinstance(item, list) and all(isinstance(x, int | float) for x in item) for item in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=inline)


_Dumper.add_representer(list, _represent_list)


def write_yaml(document: dict[str, Any], path: Path) -> None:
    """Write `document` as YAML, keys in insertion order."""
    path.write_text(yaml.dump(document, Dumper=_Dumper, sort_keys=False))


def box_record(truth: FrameTruth) -> dict[str, Any]:
    """One `boxes.jsonl` line: the frame's time, phase and every vehicle box in view.

    Boxes are unclipped (they may extend past the frame edge); `in_view` tells whether
    the whole box is inside the frame.
    """
    return {
        "frame": truth.index,
        "t": round(truth.t, 4),
        "signal": truth.phase,
        "vehicles": [
            {"id": v.id, "class": v.kind, "box": list(box), "in_view": inside}
            for v, box, inside in truth.boxes
        ],
    }


def write_box_line(handle: IO[str], truth: FrameTruth) -> None:
    """Append one frame's record to an open `boxes.jsonl`."""
    handle.write(json.dumps(box_record(truth), separators=(",", ":")) + "\n")
