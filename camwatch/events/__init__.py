"""Events: the life of one confirmed object (or one anomaly), the bus and the store."""
