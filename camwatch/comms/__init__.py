"""MQTT: results publisher with a persistent outbox, commands and Home Assistant discovery."""
