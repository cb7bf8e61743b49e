"""Object tracking: detections → objects with stable ids."""
