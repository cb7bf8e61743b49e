"""Motion detection: where in the frame something changed."""

from camwatch.motion.detector import MotionDetector

__all__ = ["MotionDetector"]
