"""bandit on the application code."""

from __future__ import annotations

import json

from tests.deploy.tools import ROOT, run, tool


def test_bandit_finds_no_medium_or_high_issue() -> None:
    # -ll: medium severity and up. Low findings (random for back-off jitter, say) are listed
    # in the output but do not fail the build.
    result = run([tool("bandit"), "-r", "philos", "-ll", "-f", "json", "-q"], cwd=ROOT)
    report = json.loads(result.stdout)
    issues = [
        f"{i['filename']}:{i['line_number']} {i['test_id']} {i['issue_text']}"
        for i in report["results"]
    ]
    assert result.returncode == 0 and not issues, "\n".join(issues) or result.stderr
    assert report["metrics"]["_totals"]["loc"] > 1000, "bandit scanned (almost) nothing"
