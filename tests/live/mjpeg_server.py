"""An MJPEG stream over HTTP on 127.0.0.1, as IP cameras serve them, for the live tests and
benchmarks/live.py (run as its own process: OpenCV holds the GIL while it opens a stream).

    python mjpeg_server.py VIDEO PORT [--loop SECONDS] [--size WxH] [--fps FPS] [--stall-after N]

Serves the frames of VIDEO at its frame rate (or FPS) to one client at a time, as
multipart/x-mixed-replace JPEGs. Without --loop the video is served once, then every request
gets 410 Gone (the stream has ended); with --loop it repeats for SECONDS. With --stall-after N the
first client gets N frames, then nothing more on a connection held open (a stalled camera); the
next ones are served as usual. Prints "ready" when it listens.
"""

from __future__ import annotations

import argparse
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2


def read_frames(path: str, size: tuple[int, int] | None) -> tuple[list[bytes], float]:
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if size is not None:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return frames, fps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("port", type=int)
    parser.add_argument("--loop", type=float, default=0.0)
    parser.add_argument("--size", default=None)
    parser.add_argument("--fps", type=float, default=None)
    parser.add_argument("--stall-after", type=int, default=0)
    options = parser.parse_args()
    size = tuple(int(v) for v in options.size.split("x")) if options.size else None
    frames, fps = read_frames(options.video, size)
    fps = options.fps or fps
    served = {"done": False, "stalled": False}

    class Stream(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            if served["done"]:
                self.send_error(410, "the stream has ended")
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            started, index = time.monotonic(), 0
            while True:
                if options.loop and time.monotonic() - started > options.loop:
                    break
                if not options.loop and index >= len(frames):
                    break
                if options.stall_after and not served["stalled"] and index == options.stall_after:
                    served["stalled"] = True
                    time.sleep(120)  # the connection stays open, silent
                    return
                wait = started + index / fps - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                data = frames[index % len(frames)]
                try:
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data) + data + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return
                index += 1
            served["done"] = True

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Stream)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
