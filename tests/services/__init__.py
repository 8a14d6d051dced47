"""Real backend servers for the test suite (see README.md)."""
