"""Running camwatch as a service: systemd notification, Edge TPU discovery, the doctor."""
