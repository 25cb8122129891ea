"""Darknet layers rebuilt in PyTorch, checked against OpenCV DNN on a generated network.

The cfg below uses what YOLOv4-tiny adds to YOLOv3-tiny (a channel-split route, a
route to an absolute layer, `scale_x_y`, heads whose masks share an anchor) on a
network small enough to write random weights for, so a wrong slice or decoding shows
up as different numbers from OpenCV's own Darknet reader.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from models.darknet_net import DarknetNet, decode_heads, export_onnx, heads_of
from models.runtimes import ONNX_RUNTIMES, open_session

ANCHORS = "10,14, 23,27, 37,58, 81,82, 135,169, 344,319"
CLASSES = 2

CFG = f"""
[net]
width=64
height=64
channels=3

# 0: 8 channels
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

# 1: the second half of layer 0's channels (4)
[route]
layers=-1
groups=2
group_id=1

# 2
[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

# 3: 4 + 4 channels
[route]
layers=-1,-2

# 4: 32x32
[maxpool]
size=2
stride=2

# 5
[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky

# 6
[convolutional]
filters={3 * (5 + CLASSES)}
size=1
stride=1
pad=1
activation=linear

# 7
[yolo]
mask=3,4,5
anchors={ANCHORS}
classes={CLASSES}
num=6
scale_x_y=1.05

# 8: back to layer 5
[route]
layers=-3

# 9: 64x64
[upsample]
stride=2

# 10: 16 + 8 channels, layer 3 by its absolute index
[route]
layers=-1, 3

# 11
[convolutional]
filters={3 * (5 + CLASSES)}
size=1
stride=1
pad=1
activation=linear

# 12
[yolo]
mask=1,2,3
anchors={ANCHORS}
classes={CLASSES}
num=6
scale_x_y=1.2
"""


def _write_cfg(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generated cfg and random Darknet weights for it."""
    root = tmp_path_factory.mktemp("darknet-net")
    cfg = _write_cfg(root / "net.cfg", CFG)
    net = DarknetNet(cfg)
    rng = np.random.default_rng(0)
    values: list[np.ndarray] = []
    for block in net.blocks:
        if not isinstance(block, nn.Sequential):
            continue
        conv = block.get_submodule("conv")
        assert isinstance(conv, nn.Conv2d)
        n = conv.out_channels
        if hasattr(block, "bn"):
            # beta, gamma, running mean, running variance (positive).
            values += [rng.normal(0, 0.5, n), rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n)]
            values.append(rng.uniform(0.5, 2.0, n))
        else:
            values.append(rng.normal(0, 0.5, n))
        # Scaled by fan-in, so activations and box sizes stay in a trained net's range.
        fan_in = conv.weight[0].numel()
        values.append(rng.normal(0, 1.5 / np.sqrt(fan_in), conv.weight.numel()))
    weights = root / "net.weights"
    header = np.array([0, 2, 0], dtype=np.int32).tobytes() + np.int64(0).tobytes()
    weights.write_bytes(header + np.concatenate(values).astype(np.float32).tobytes())
    return cfg, weights


def _opencv_rows(cfg: Path, weights: Path, blob: np.ndarray) -> np.ndarray:
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setInput(blob)
    outs = net.forward(net.getUnconnectedOutLayersNames())
    return np.concatenate([o.reshape(len(blob), -1, o.shape[-1]) for o in outs], 1)


def test_heads_read_masks_and_scale_x_y(network: tuple[Path, Path]) -> None:
    cfg, _ = network
    coarse, fine = heads_of(cfg)
    anchors = np.array([float(v) for v in ANCHORS.split(",")]).reshape(-1, 2)
    np.testing.assert_array_equal(coarse.anchors, anchors[[3, 4, 5]])
    # YOLOv4-tiny's second head shares anchor 3 with the first and never uses anchor 0.
    np.testing.assert_array_equal(fine.anchors, anchors[[1, 2, 3]])
    assert (coarse.scale_x_y, fine.scale_x_y) == (1.05, 1.2)
    assert coarse.classes == fine.classes == CLASSES


def test_channel_split_route_takes_the_named_slice(network: tuple[Path, Path]) -> None:
    cfg, weights = network
    net = DarknetNet(cfg)
    net.load_darknet_weights(weights)
    captured: list[torch.Tensor] = []
    first, third = net.blocks[0], net.blocks[2]
    first.register_forward_hook(lambda _m, _i, out: captured.append(out))
    third.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
    with torch.no_grad():
        net(torch.rand(1, 3, 32, 32))
    layer0, into_layer2 = captured
    assert into_layer2.shape[1] == 4
    # group_id=1 of groups=2: the second half, not the first.
    torch.testing.assert_close(into_layer2, layer0[:, 4:])


@pytest.mark.parametrize("net_wh", [(64, 64), (96, 64)])
def test_export_decodes_to_opencv_dnn_rows(
    network: tuple[Path, Path], tmp_path: Path, net_wh: tuple[int, int]
) -> None:
    cfg, weights = network
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (net_wh[1], net_wh[0], 3), dtype=np.uint8) for _ in range(2)]
    blob = cv2.dnn.blobFromImages(images, 1 / 255.0, swapRB=True)
    ref = _opencv_rows(cfg, weights, blob)
    onnx = export_onnx(cfg, weights, tmp_path / "net.onnx")
    for runtime in ONNX_RUNTIMES:
        session = open_session(onnx, runtime, precision="f32")
        rows = decode_heads(session.run(blob), heads_of(cfg), net_wh, 0.0)
        assert rows.shape == ref.shape
        np.testing.assert_allclose(rows[..., :5], ref[..., :5], rtol=1e-4, atol=1e-4)
        kept = ref[..., 5:] > 0  # OpenCV zeroes class scores under its own floor
        assert kept.sum() > 0
        np.testing.assert_allclose(rows[..., 5:][kept], ref[..., 5:][kept], rtol=1e-4, atol=1e-4)


def test_scale_x_y_moves_centres_away_from_the_cell_centre(network: tuple[Path, Path]) -> None:
    cfg, _ = network
    heads = heads_of(cfg)
    # One cell per head; raw x = 2 (sigmoid 0.881), raw y = -2 (sigmoid 0.119).
    outputs = []
    for head in heads:
        raw = np.zeros((1, len(head.anchors), 5 + head.classes, 1, 1), dtype=np.float32)
        raw[:, :, 0], raw[:, :, 1] = 2.0, -2.0
        outputs.append(raw.reshape(1, -1, 1, 1))
    rows = decode_heads(outputs, heads, (64, 64), 0.0)[0]
    s = 1 / (1 + np.exp(-2.0))
    for head, row in zip(heads, rows[:: len(heads[0].anchors)], strict=True):
        k = head.scale_x_y
        assert row[0] == pytest.approx(s * k - (k - 1) / 2, abs=1e-6)
        assert row[1] == pytest.approx((1 - s) * k - (k - 1) / 2, abs=1e-6)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("groups=2\ngroup_id=1", "groups=3\ngroup_id=1", r"layer 1: .* 8 channels into groups=3"),
        ("groups=2\ngroup_id=1", "groups=2\ngroup_id=2", r"layer 1: .*group_id=2 of groups=2"),
        ("layers=-1,-2", "layers=-1,7", r"layer 3: \[route\] layers=-1,7 not before it"),
        ("mask=1,2,3", "mask=1,2,6", r"layer 12: \[yolo\] mask \[1, 2, 6\] outside its 6"),
    ],
)
def test_bad_cfg_names_the_layer(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in CFG
    cfg = _write_cfg(tmp_path / "bad.cfg", CFG.replace(old, new, 1))
    with pytest.raises(ValueError, match=message):
        DarknetNet(cfg)
