"""Wiring of the stages: source → motion → detector → tracker → zones → events → bus."""
