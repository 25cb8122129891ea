"""`detector` and a camera's `detection_region`.

The vehicle detector's model, runtime, input size and thresholds, and the part of a
camera's frame it looks at.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from models.detections import CANONICAL_CLASSES
from pipeline.config.base import Box, StrictModel


class DetectorConfig(StrictModel):
    backend: Literal["darknet", "ultralytics"] = Field(
        default="darknet",
        description="darknet: a Darknet cfg + weights (the offline yolov4-tiny or yolov3-tiny); "
        "ultralytics: any model Ultralytics loads (.pt, or its ONNX/OpenVINO export).",
    )
    model: str = Field(
        default="yolov4-tiny",
        description="Model registry name. yolov4-tiny (default) finds 1.1-1.3x the motorbikes "
        "yolov3-tiny finds on Vietnamese CCTV at the same speed (README: choosing the detector).",
    )
    runtime: Literal["auto", "openvino", "onnxruntime", "opencv", "pytorch"] = Field(
        default="auto",
        description="What runs the network. auto: the fastest installed (OpenVINO, then "
        "ONNX Runtime; the model is converted or exported once and cached by its SHA-256). "
        "darknet also takes opencv (OpenCV DNN, no conversion); ultralytics takes pytorch "
        "(the .pt as it is), openvino or onnxruntime (its export).",
    )
    precision: Literal["auto", "f32", "bf16", "int8"] = Field(
        default="auto",
        description="darknet on OpenVINO: auto and int8 run an INT8 model quantised once on "
        "this machine (fastest; keeps 95-100% of the f32 boxes), bf16 the float model in bf16 "
        "where the CPU has it, f32 the exact float model. Other runtimes compute in f32.",
    )
    input_size: int = Field(
        default=416,
        ge=128,
        le=1280,
        multiple_of=32,
        description="Long side of the network input in pixels, unless a camera sets its own "
        "(for a wide view the input may grow up to auto_input_size_max).",
    )
    auto_input_size_max: int | None = Field(
        default=608,
        ge=128,
        le=1280,
        multiple_of=32,
        description="A camera that sets no detector_input_size gets an input between "
        "input_size and this: the smallest keeping 0.4 of the long side of what it detects "
        "(its detection region or tile). A 640 px camera stays at 416, a 1280 px one gets "
        "512, a 1600 px far view 608, where its motorbikes are still large enough to find. "
        "null: always input_size.",
    )
    confidence: float = Field(default=0.25, gt=0, lt=1, description="Minimum detection score.")
    class_confidence: dict[str, float] = Field(
        default_factory=dict,
        description="Minimum score per canonical class, e.g. {person: 0.4}; others use confidence.",
    )
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="ultralytics: model class name -> canonical class, for fine-tunes "
        "whose vocabulary the built-in mapping does not know.",
    )
    batch_size: int = Field(
        default=8, ge=1, le=64, description="Most frames (from all cameras) per detector call."
    )
    max_wait_ms: float = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long a partial batch waits for more cameras' frames before it runs; "
        "0 runs whatever is ready at once.",
    )

    @field_validator("class_confidence")
    @classmethod
    def _known_classes(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for name, value in thresholds.items():
            if name not in CANONICAL_CLASSES:
                raise ValueError(f"unknown class {name!r}; expected one of {CANONICAL_CLASSES}")
            if not 0 < value < 1:
                raise ValueError(f"threshold of {name!r} must be between 0 and 1")
        return thresholds

    @model_validator(mode="after")
    def _runtime_fits_backend(self) -> DetectorConfig:
        allowed = {
            "darknet": ("auto", "openvino", "onnxruntime", "opencv"),
            "ultralytics": ("auto", "openvino", "onnxruntime", "pytorch"),
        }[self.backend]
        if self.runtime not in allowed:
            raise ValueError(f"runtime {self.runtime!r} does not run a {self.backend} model")
        return self


class DetectionRegion(StrictModel):
    """The part of a camera's frame the detector looks at, and how it is tiled.

    Detecting on the part where offences happen, letterboxed to the same network input,
    puts more network pixels on each vehicle there: small far motorbikes the whole frame
    shrinks out of the network's reach are found. Boxes still come back in frame pixels.
    """

    area: Literal["auto", "full"] | Box = Field(
        default="auto",
        description="auto: the bounding box of the scene's lanes, stop line, crosswalks and "
        "zones widened by margin and raised by headroom (the whole frame when the scene has no "
        "lanes or zones: a stop line alone does not say where vehicles come from); full: the "
        "whole frame; or [x1, y1, x2, y2] in image pixels. Clipped to the frame.",
    )
    margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="auto: added on every side, as a share of the scene box's longer side, so a "
        "vehicle whose ground point is at the box's edge is not cut off by it.",
    )
    headroom: float = Field(
        default=0.12,
        ge=0,
        le=1,
        description="auto: added above the scene box, as a share of its width. Vehicles stand "
        "up from their ground point: a rider on a motorbike at the top of the scene reaches "
        "above it by about a third to a half of a lane's width (a truck by a whole lane), and "
        "a box cut by the region's edge moves its ground point. 0.12 of the scene's width is "
        "a rider's height over a 3-4 lane approach.",
    )
    max_tiles: int = Field(
        default=1,
        ge=1,
        le=4,
        description="Most tiles a wide region is cut into, each detected at the camera's input "
        "size: more pixels per vehicle, at up to several times the detector's work (two tiles "
        "of a 2.25:1 view at 608 are 3.5x the frame's input pixels). 1, the default, never "
        "tiles; 2 pays where vehicles are small for the detector (Hanoi 640x480 with "
        "yolov3-tiny: labelled red-light runners boxed 10 times in 15 instead of 3).",
    )
    tile_above_aspect: float = Field(
        default=2.0,
        ge=1,
        le=8,
        description="A region whose long side exceeds this many times its short side is cut "
        "into the fewest tiles (up to max_tiles) that bring each tile down to it.",
    )
    tile_overlap: float = Field(
        default=0.2,
        ge=0.05,
        le=0.5,
        description="Share of a tile's length that neighbouring tiles overlap, so a vehicle "
        "shorter than that is whole in one tile; boxes cut by a tile's edge are joined.",
    )

    @field_validator("area")
    @classmethod
    def _area_is_a_box(cls, area: Literal["auto", "full"] | Box) -> Literal["auto", "full"] | Box:
        if not isinstance(area, str):
            x1, y1, x2, y2 = area
            if x2 <= x1 or y2 <= y1:
                raise ValueError(
                    f"area [x1, y1, x2, y2] needs x2 > x1 and y2 > y1, got {list(area)}"
                )
            if x2 <= 0 or y2 <= 0:
                raise ValueError(f"area {list(area)} lies outside the image")
        return area
