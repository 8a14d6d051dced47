"""Queries answered by one JSON-building SQL statement (see ``sql.py``)."""
