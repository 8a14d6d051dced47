"""Ports (``ports.py``), the bag of them (``stores.py``), and the adapters that implement
them; only ``philos/bootstrap.py`` chooses and builds an adapter."""
