"""``python -m tests.services.servers [postgres redis neo4j mongo]``."""

from tests.services.servers.cli import main

raise SystemExit(main())
