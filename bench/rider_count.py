"""How often the real detector and `models.riders` count each scripted motorbike's riders.

Usage:
    python bench/rider_count.py --scene DIR [--input-size 608]

Reads `DIR/video.mp4` and `DIR/boxes.jsonl` of a generated scenario (e.g.
`trafficcam scenario overloaded_motorbike --out DIR`), runs yolov3-tiny over every
frame, associates persons with each detected motorbike as the camera pipeline does
(duplicate boxes on one person merged as the overloaded_motorbike rule merges them),
matches each scripted motorbike wholly in view to the detected motorbike overlapping
it best (IoU >= 0.3), and prints per vehicle the share of frames with each rider count
("no bike": the motorbike itself was not found). A motorbike's frames while it stands
still are reported apart (in the scenario a pedestrian stands beside the waiting one).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import av

from models.darknet import DarknetDetector
from models.detections import class_id
from models.riders import associate_riders
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.groundtruth import read_boxes
from pipeline.evaluation.scenario.motion import StopAndGo
from pipeline.geometry import box_iou
from pipeline.rules.overloaded_motorbike import distinct_riders


def measure(scene: Path, input_size: int) -> dict[str, Counter[int]]:
    """Vehicle id -> counter of rider counts over the frames it is wholly in view."""
    script = build_script("overloaded_motorbike")
    motions = {v.id: v.motion for v in script.vehicles}
    truths = {t.frame: t for t in read_boxes(scene / "boxes.jsonl")}
    detector = DarknetDetector.from_registry("yolov3-tiny", input_size=input_size)
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    with av.open(str(scene / "video.mp4")) as container:
        for index, frame in enumerate(container.decode(video=0)):
            detections = detector.detect([frame.to_ndarray(format="bgr24")])[0]
            riders = associate_riders(detections)
            bikes = [int(b) for b in riders]
            for vehicle in truths[index].vehicles:
                if vehicle.cls != "motorbike" or not vehicle.in_view:
                    continue
                box = tuple(float(v) for v in vehicle.box)
                best = max(
                    bikes,
                    key=lambda b: box_iou(box, tuple(detections.xyxy[b])),  # type: ignore[arg-type]
                    default=None,
                )
                motion = motions[vehicle.id]
                t = truths[index].t
                standing = isinstance(motion, StopAndGo) and motion.t_stop <= t < motion.t_go
                key = f"{vehicle.id} (standing)" if standing else vehicle.id
                if best is None or box_iou(box, tuple(detections.xyxy[best])) < 0.3:  # type: ignore[arg-type]
                    counts[key][-1] += 1
                    continue
                people = [
                    tuple(float(v) for v in detections.xyxy[p])
                    for p in riders[best]
                    if detections.class_ids[p] == class_id("person")
                ]
                counts[key][len(distinct_riders(people))] += 1  # type: ignore[arg-type]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=608)
    args = parser.parse_args()
    riders = {v.id: v.riders for v in build_script("overloaded_motorbike").vehicles}
    for key, counter in sorted(measure(args.scene, args.input_size).items()):
        vid = key.split()[0]
        total = sum(counter.values())
        shares = ", ".join(
            f"{'no bike' if n < 0 else n}: {c / total:.2f}" for n, c in sorted(counter.items())
        )
        print(f"{key:24} riders {riders.get(vid, '?')}  frames {total:3}  {shares}")


if __name__ == "__main__":
    main()
