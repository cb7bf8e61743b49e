"""camwatch: a privacy-first smart-camera security monitor."""

import os as _os

__version__ = "0.1.0"

# OpenCV and FFmpeg print their own warnings (sometimes with stream URLs) straight to
# stderr; camwatch reports problems itself, once, with secrets masked.
_os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
