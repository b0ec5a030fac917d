"""Live prediction: emotions from a camera, a stream or a file played in real time, as they happen."""

from vemo.live.capture import LiveSource, Retries, parse_source
from vemo.live.session import LiveResult, LiveSession, LiveStats, watch

__all__ = ["LiveResult", "LiveSession", "LiveSource", "LiveStats", "Retries", "parse_source", "watch"]
