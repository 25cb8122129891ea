"""Camera sources: read RTSP/HTTP streams and video files into sampled frames.

Imports nothing of the rest of the project: it takes URLs and returns frames.
``streams/rtsp_server.py`` is a standalone script for Debian's system Python and
is not imported here.
"""

from streams.frame import Frame
from streams.rtsp_launcher import (
    RtspServerError,
    RtspServerProcess,
    rtsp_server_available,
    rtsp_server_problem,
    start_rtsp_server,
)
from streams.source import StreamSource, is_network_url, redact_url
from streams.stats import SourceState, SourceStats

__all__ = [
    "Frame",
    "RtspServerError",
    "RtspServerProcess",
    "SourceState",
    "SourceStats",
    "StreamSource",
    "is_network_url",
    "redact_url",
    "rtsp_server_available",
    "rtsp_server_problem",
    "start_rtsp_server",
]
