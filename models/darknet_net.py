"""Darknet `.cfg` + `.weights` rebuilt in PyTorch, for a one-off export to ONNX.

OpenCV DNN runs Darknet files directly but is two to four times slower on a CPU than
ONNX Runtime or OpenVINO. Those need ONNX, and no ONNX of the offline yolov3-tiny
ships anywhere, so the network is rebuilt here from its own files and exported.

The exported graph stops at the raw head convolutions; `decode_heads` turns them into
the rows OpenCV's region layer gives (`cx, cy, w, h` as fractions of the input,
objectness, class scores times objectness), so both runtimes share one decoder.

Supported layers: what YOLOv3, YOLOv3-tiny and YOLOv4-tiny use (`convolutional` with
batch norm and leaky/linear activation, `maxpool`, `route` including YOLOv4's channel
split `groups`/`group_id`, `shortcut`, `upsample`, `yolo` including `scale_x_y`).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

_LEAKY_SLOPE = 0.1
_BN_EPS = 1e-5


@dataclass(frozen=True)
class YoloHead:
    """Anchors of one `[yolo]` layer, in input pixels at the cfg's training size.

    Attributes:
        anchors: (A, 2) anchor widths and heights in pixels.
        classes: Number of classes the head predicts.
        scale_x_y: YOLOv4's grid sensitivity: the box centre's offset in its cell is
            `sigmoid * scale_x_y - (scale_x_y - 1) / 2`, so a centre can reach the cell's
            edges (1.0 in YOLOv3: plain sigmoid).
    """

    anchors: np.ndarray
    classes: int
    scale_x_y: float = 1.0


def parse_cfg(path: Path) -> list[dict[str, str]]:
    """Read a Darknet cfg into a list of sections, each `{"type": name, key: value}`."""
    sections: list[dict[str, str]] = []
    for raw in Path(path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        elif "=" in line and sections:
            key, _, value = line.partition("=")
            sections[-1][key.strip()] = value.strip()
    if not sections or sections[0]["type"] not in ("net", "network"):
        raise ValueError(f"{path}: a Darknet cfg starts with a [net] section")
    return sections


def _ints(value: str) -> list[int]:
    return [int(v) for v in re.split(r"\s*,\s*", value.strip()) if v]


def _head(layer: dict[str, str], index: int) -> YoloHead:
    """The `YoloHead` of a `[yolo]` section (its anchors picked by `mask`)."""
    anchors = np.array(_ints(layer["anchors"]), dtype=np.float32).reshape(-1, 2)
    mask = _ints(layer["mask"]) if "mask" in layer else list(range(len(anchors)))
    if any(not 0 <= m < len(anchors) for m in mask):
        raise ValueError(f"layer {index}: [yolo] mask {mask} outside its {len(anchors)} anchors")
    return YoloHead(anchors[mask], int(layer["classes"]), float(layer.get("scale_x_y", "1")))


@dataclass(frozen=True)
class _Route:
    """A `[route]`: the concatenation of earlier layers' outputs, or, with `groups`, of
    slice `group_id` of `groups` equal channel slices of each (YOLOv4's CSP split).

    Attributes:
        parts: Per source layer: its index and the channel range taken from it, fixed
            when the network is built so the exported graph holds constant slices.
        channels: Output channels.
    """

    parts: tuple[tuple[int, int, int], ...]
    channels: int
    split: bool

    @classmethod
    def parse(cls, layer: dict[str, str], index: int, out_channels: list[int]) -> _Route:
        """Read a route section; `out_channels` are the channels of layers before it."""
        sources = [s if s >= 0 else index + s for s in _ints(layer["layers"])]
        if any(not 0 <= s < index for s in sources):
            raise ValueError(f"layer {index}: [route] layers={layer['layers']} not before it")
        groups, group_id = int(layer.get("groups", "1")), int(layer.get("group_id", "0"))
        if groups < 1 or not 0 <= group_id < groups:
            raise ValueError(f"layer {index}: [route] group_id={group_id} of groups={groups}")
        parts = []
        for s in sources:
            if out_channels[s] % groups:
                raise ValueError(
                    f"layer {index}: [route] cannot split layer {s}'s {out_channels[s]} "
                    f"channels into groups={groups}"
                )
            size = out_channels[s] // groups
            parts.append((s, group_id * size, (group_id + 1) * size))
        return cls(tuple(parts), sum(stop - start for _, start, stop in parts), groups > 1)

    def __call__(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        """This route's output, given every earlier layer's output."""
        pieces = [
            outputs[s][:, start:stop] if self.split else outputs[s] for s, start, stop in self.parts
        ]
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, 1)


class DarknetNet(nn.Module):
    """A Darknet network whose `forward` returns the raw output of each `[yolo]` layer.

    Attributes:
        heads: One `YoloHead` per output, in cfg order (OpenCV's output order).
    """

    def __init__(self, cfg_path: Path) -> None:
        super().__init__()
        sections = parse_cfg(cfg_path)
        self._layers = sections[1:]
        self.blocks = nn.ModuleList()
        self.heads: list[YoloHead] = []
        self._routes: dict[int, _Route] = {}
        channels = [int(sections[0].get("channels", "3"))]
        out_channels: list[int] = []
        for index, layer in enumerate(self._layers):
            kind = layer["type"]
            prev = out_channels[-1] if out_channels else channels[0]
            block: nn.Module = nn.Identity()
            if kind == "convolutional":
                filters, size = int(layer["filters"]), int(layer["size"])
                stride = int(layer.get("stride", "1"))
                pad = size // 2 if int(layer.get("pad", "0")) else 0
                bn = int(layer.get("batch_normalize", "0"))
                seq = nn.Sequential()
                seq.add_module("conv", nn.Conv2d(prev, filters, size, stride, pad, bias=not bn))
                if bn:
                    seq.add_module("bn", nn.BatchNorm2d(filters, eps=_BN_EPS))
                activation = layer.get("activation", "linear")
                if activation == "leaky":
                    seq.add_module("act", nn.LeakyReLU(_LEAKY_SLOPE))
                elif activation != "linear":
                    raise ValueError(f"layer {index}: unsupported activation {activation!r}")
                block, prev = seq, filters
            elif kind == "route":
                route = self._routes[index] = _Route.parse(layer, index, out_channels)
                prev = route.channels
            elif kind == "yolo":
                self.heads.append(_head(layer, index))
            elif kind not in ("maxpool", "upsample", "shortcut"):
                raise ValueError(f"layer {index}: unsupported Darknet layer [{kind}]")
            self.blocks.append(block)
            out_channels.append(prev)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run the network on an (N, 3, H, W) RGB float batch in [0, 1]."""
        outputs: list[torch.Tensor] = []
        heads: list[torch.Tensor] = []
        for index, (layer, block) in enumerate(zip(self._layers, self.blocks, strict=True)):
            kind = layer["type"]
            if kind == "convolutional":
                x = block(x)
            elif kind == "maxpool":
                size, stride = int(layer["size"]), int(layer.get("stride", "1"))
                if stride == 1:
                    # Darknet keeps the size with a stride-1 pool by reading past the
                    # right/bottom edge; repeating the edge gives the same maximum.
                    x = F.pad(x, (0, size - 1, 0, size - 1), mode="replicate")
                x = F.max_pool2d(x, size, stride)
            elif kind == "upsample":
                x = F.interpolate(x, scale_factor=int(layer.get("stride", "2")), mode="nearest")
            elif kind == "route":
                x = self._routes[index](outputs)
            elif kind == "shortcut":
                x = x + outputs[index + int(layer["from"])]
            elif kind == "yolo":
                heads.append(x)
            outputs.append(x)
        return tuple(heads)

    def load_darknet_weights(self, path: Path) -> None:
        """Load a Darknet `.weights` file (header, then each conv's parameters in order).

        Raises:
            ValueError: If the file's size does not match the cfg.
        """
        data = Path(path).read_bytes()
        major, minor, _ = np.frombuffer(data, dtype=np.int32, count=3)
        offset = 12 + (8 if major * 10 + minor >= 2 else 4)  # "images seen" grew to int64
        values = np.frombuffer(data, dtype=np.float32, offset=offset)
        pos = 0

        def take(tensor: torch.Tensor) -> None:
            nonlocal pos
            n = tensor.numel()
            if pos + n > values.size:
                raise ValueError(f"{path}: too short for the cfg")
            tensor.data.copy_(torch.from_numpy(values[pos : pos + n].copy()).view_as(tensor))
            pos += n

        with torch.no_grad():
            for block in self.blocks:
                if not isinstance(block, nn.Sequential):
                    continue
                conv = block.get_submodule("conv")
                assert isinstance(conv, nn.Conv2d)
                if hasattr(block, "bn"):
                    bn = block.get_submodule("bn")
                    assert isinstance(bn, nn.BatchNorm2d)
                    assert bn.running_mean is not None and bn.running_var is not None
                    # Darknet order: beta, gamma, running mean, running variance.
                    for tensor in (bn.bias, bn.weight, bn.running_mean, bn.running_var):
                        take(tensor)
                else:
                    assert conv.bias is not None
                    take(conv.bias)
                take(conv.weight)
        if pos != values.size:
            raise ValueError(f"{path}: {values.size - pos} weights left over; wrong cfg?")


def export_onnx(cfg_path: Path, weights_path: Path, target: Path) -> Path:
    """Export a Darknet network to ONNX with dynamic batch and input size.

    The file is written under a temporary name and renamed, so a crash never leaves a
    half-written model that a later run would load.

    Args:
        cfg_path: The `.cfg` file.
        weights_path: The `.weights` file.
        target: Where to write the `.onnx` file.

    Returns:
        `target`.
    """
    net = DarknetNet(cfg_path)
    net.load_darknet_weights(weights_path)
    net.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Per-process temporary name: two workers converting at once must not interleave.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    names = [f"head{i}" for i in range(len(net.heads))]
    axes = {"images": {0: "batch", 2: "height", 3: "width"}}
    axes.update({n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in names})
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns about its own shape inference on every dynamic axis.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.zeros(1, 3, 416, 416),),
            str(tmp),
            input_names=["images"],
            output_names=names,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no extra packages
        )
    tmp.replace(target)
    return target


def heads_of(cfg_path: Path) -> list[YoloHead]:
    """Return the `[yolo]` heads of a cfg without building the network."""
    layers = parse_cfg(cfg_path)[1:]
    return [_head(layer, i) for i, layer in enumerate(layers) if layer["type"] == "yolo"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # overflow-free logistic


def decode_heads(
    outputs: list[np.ndarray], heads: list[YoloHead], net_wh: tuple[int, int], min_score: float
) -> np.ndarray:
    """Turn raw `[yolo]` outputs into OpenCV-style detection rows.

    Args:
        outputs: One (N, A*(5+C), gh, gw) array per head.
        heads: The heads, in the same order.
        net_wh: Network input width and height in pixels.
        min_score: Rows whose objectness is below this are left as zeros: no class
            score can exceed objectness, and skipping them saves most of the work.

    Returns:
        (N, rows, 5+C) float32: `cx, cy, w, h` as fractions of the input, objectness
        and class scores times objectness; rows ordered cell by cell, anchor by anchor.
    """
    net_w, net_h = net_wh
    blocks = []
    for out, head in zip(outputs, heads, strict=True):
        n, _, gh, gw = out.shape
        a = len(head.anchors)
        # (N, A, 5+C, gh, gw) -> (N, gh, gw, A, 5+C), OpenCV's row order.
        raw = out.reshape(n, a, 5 + head.classes, gh, gw).transpose(0, 3, 4, 1, 2)
        rows = np.zeros(raw.shape, dtype=np.float32)
        gx = np.arange(gw, dtype=np.float32)[None, None, :, None]
        gy = np.arange(gh, dtype=np.float32)[None, :, None, None]
        # scale_x_y stretches the sigmoid about the cell's centre (Darknet's yolo layer).
        scale, shift = head.scale_x_y, (head.scale_x_y - 1.0) / 2
        rows[..., 0] = (_sigmoid(raw[..., 0]) * scale - shift + gx) / gw
        rows[..., 1] = (_sigmoid(raw[..., 1]) * scale - shift + gy) / gh
        rows[..., 2] = np.exp(np.minimum(raw[..., 2], 20.0)) * head.anchors[:, 0] / net_w
        rows[..., 3] = np.exp(np.minimum(raw[..., 3], 20.0)) * head.anchors[:, 1] / net_h
        objectness = _sigmoid(raw[..., 4])
        rows[..., 4] = objectness
        live = objectness >= min_score
        rows[..., 5:][live] = _sigmoid(raw[..., 5:][live]) * objectness[live][:, None]
        blocks.append(rows.reshape(n, -1, 5 + head.classes))
    return np.concatenate(blocks, axis=1)
