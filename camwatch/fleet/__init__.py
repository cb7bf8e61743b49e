"""Many camwatch nodes on one broker: node status, fleet status, signed over-the-air model updates."""
