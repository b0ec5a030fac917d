"""vemo: video-based facial emotion recognition (Gunawan et al.), reproducible and measured."""

__version__ = "0.1.0"
