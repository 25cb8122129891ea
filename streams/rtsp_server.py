#!/usr/bin/python3
"""A small RTSP server for tests and demos, built on GStreamer's gst-rtsp-server.

Run it with Debian's ``/usr/bin/python3``: the ``gi`` bindings for GstRtspServer
only import there, so this file imports nothing of the project and nothing from
the virtualenv. Start it from Python with :func:`streams.rtsp_launcher.start_rtsp_server`.

Example::

    /usr/bin/python3 streams/rtsp_server.py --port 8554 \\
        --mount /cam1=/data/junction.mp4 --live-test /test --loop

File mounts serve an H.264 MP4 as-is (``filesrc ! qtdemux ! h264parse !
rtph264pay``), never re-encoded. Every client gets its own pipeline and so sees
the file from its start. With ``--loop`` a file mount restarts at its end through
GStreamer segment seeks, still without re-encoding, and its timestamps keep
growing across the restart, so a reader sees one endless stream. Without
``--loop`` a file mount ends (the client gets end-of-stream) like a camera that
hangs up.

Once the server listens it prints ``READY port=<port>`` on stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# Before the subclasses below are registered: their signals carry GstMessage,
# a type that only exists once GStreamer is initialised.
Gst.init(None)

# h264parse config-interval=-1 repeats SPS/PPS before every keyframe, so a
# client can start decoding at any keyframe. Not on rtph264pay as well: it
# inserts them before every IDR *slice*, which splits a multi-slice keyframe
# (x264 zerolatency, many cameras) into two frames on the client.
_FILE_PIPELINE = (
    "filesrc name=src ! qtdemux name=demux demux.video_0 ! queue ! "
    "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
)
_LIVE_TEST_PIPELINE = (
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=15/1 ! "
    "timeoverlay ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
    "video/x-h264,profile=baseline ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
)

_SEEK_START = 0
_SEGMENT_WAIT_S = 5.0


class LoopingMedia(GstRtspServer.RTSPMedia):
    """A media whose pipeline restarts at the end of its segment instead of ending.

    A segment seek makes the pipeline post SEGMENT_DONE rather than EOS at the
    end of the file; answering it with another, non-flushing segment seek to the
    start plays the file again while running time (and so the RTP timestamps)
    keeps growing.
    """

    def do_handle_message(self, message: Gst.Message) -> bool:
        if message.type == Gst.MessageType.SEGMENT_DONE:
            self._segment_seek(Gst.SeekFlags.SEGMENT)
            return True
        return GstRtspServer.RTSPMedia.do_handle_message(self, message)

    def do_prepared(self) -> None:
        # Turn the (flushing) preroll position into a segment so the end of the
        # file posts SEGMENT_DONE.
        self._segment_seek(Gst.SeekFlags.SEGMENT | Gst.SeekFlags.FLUSH)
        self._wait_for_segment()

    def _wait_for_segment(self) -> None:
        # The flushing seek clears the stream's segment until the demuxer sends
        # the new one. A PLAY answered in that gap trips an assertion in
        # gst-rtsp-server 1.22 (gst_rtsp_media_get_rates finds a stream without
        # rates) and aborts the whole server; on a loaded machine about one
        # connection in 40 hit it. This runs before the DESCRIBE reply, so
        # holding it here keeps the client's PLAY out of the gap.
        pay = self.get_element().get_by_name("pay0")
        pad = pay.get_static_pad("src") if pay is not None else None
        if pad is None:
            return
        # Wait on the RTP bin's input pad: it gets the segment after the payloader.
        pad = pad.get_peer() or pad
        deadline = time.monotonic() + _SEGMENT_WAIT_S
        while pad.get_sticky_event(Gst.EventType.SEGMENT, 0) is None:
            if time.monotonic() > deadline:
                print("WARNING segment not restored after the loop seek", file=sys.stderr)
                return
            time.sleep(0.005)

    def _segment_seek(self, flags: Gst.SeekFlags) -> None:
        # Sent to the demuxer itself: a seek sent to the pipeline travels up from
        # the server's sinks and never reaches qtdemux (it is accepted, but lost).
        demux = self.get_element().get_by_name("demux")
        if demux is None:
            return
        demux.seek(
            1.0,
            Gst.Format.TIME,
            flags,
            Gst.SeekType.SET,
            _SEEK_START,
            Gst.SeekType.NONE,
            -1,
        )


class FileMediaFactory(GstRtspServer.RTSPMediaFactory):
    """Serves one MP4 file; each client gets its own pipeline from the start."""

    def __init__(self, path: Path, loop: bool) -> None:
        super().__init__()
        self._path = path
        self.set_shared(False)
        if loop:
            self.set_media_gtype(LoopingMedia.__gtype__)

    def do_create_element(self, url: GstRtspServer.RTSPUrl) -> Gst.Element:
        # Built here rather than with set_launch() so the path is a property, not
        # text spliced into a launch line (no quoting trouble with odd names).
        bin_ = Gst.parse_launch(f"( {_FILE_PIPELINE} )")
        bin_.get_by_name("src").set_property("location", str(self._path))
        return bin_


def _parse_mount(text: str) -> tuple[str, Path]:
    mount, sep, path = text.partition("=")
    if not sep or not mount.startswith("/") or not path:
        raise argparse.ArgumentTypeError(f"expected /mount=/path/to/file.mp4, got {text!r}")
    file = Path(path)
    if not file.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {file}")
    return mount, file.resolve()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        type=_parse_mount,
        metavar="/MOUNT=FILE.mp4",
        help="serve an H.264 MP4 file at this mount (repeatable)",
    )
    parser.add_argument("--live-test", metavar="/MOUNT", help="serve a live test pattern here")
    parser.add_argument("--loop", action="store_true", help="restart file mounts at their end")
    args = parser.parse_args(argv)
    if not args.mount and not args.live_test:
        parser.error("nothing to serve: give --mount and/or --live-test")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for mount, path in args.mount:
        mounts.add_factory(mount, FileMediaFactory(path, args.loop))
    if args.live_test:
        live = GstRtspServer.RTSPMediaFactory()
        live.set_launch(f"( {_LIVE_TEST_PIPELINE} )")
        live.set_shared(True)
        mounts.add_factory(args.live_test, live)

    if server.attach(None) == 0:
        print(f"ERROR cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 2

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"READY port={server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
