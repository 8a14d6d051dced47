"""Ports (``ports.py``) and the adapters that implement them, wired in ``wiring.py``."""
