"""Doctor results: one row per check, a table for people, JSON for scripts, an exit code."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal, TextIO

from camwatch.secrets import redact

Result = Literal["ok", "warn", "fail"]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_WARN = 2


@dataclass(frozen=True)
class CheckResult:
    check: str
    result: Result
    detail: str
    fix: str = ""

    def redacted(self) -> CheckResult:
        return CheckResult(self.check, self.result, redact(self.detail), redact(self.fix))


def ok(check: str, detail: str) -> CheckResult:
    return CheckResult(check, "ok", detail)


def warn(check: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(check, "warn", detail, fix)


def fail(check: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(check, "fail", detail, fix)


def exit_code(results: Iterable[CheckResult]) -> int:
    """0 when every check passed, 1 when any failed, 2 when there are warnings only."""
    kinds = {r.result for r in results}
    if "fail" in kinds:
        return EXIT_FAIL
    if "warn" in kinds:
        return EXIT_WARN
    return EXIT_OK


def write_json(results: list[CheckResult], out: TextIO) -> None:
    rows = [asdict(r.redacted()) for r in results]
    summary = {kind: sum(1 for r in results if r.result == kind) for kind in ("ok", "warn", "fail")}
    json.dump({"exit_code": exit_code(results), "summary": summary, "checks": rows}, out, indent=2)
    out.write("\n")


def write_table(results: list[CheckResult], out: TextIO, width: int | None = None) -> None:
    """CHECK  RESULT  DETAIL  FIX, the last two columns wrapped to the terminal width."""
    rows = [r.redacted() for r in results]
    total = width or shutil.get_terminal_size((120, 24)).columns
    check_w = max([len("CHECK")] + [len(r.check) for r in rows])
    result_w = len("RESULT")
    rest = max(40, total - check_w - result_w - 6)
    detail_w = max(20, rest * 3 // 5)
    fix_w = max(20, rest - detail_w - 2)
    out.write(f"{'CHECK'.ljust(check_w)}  {'RESULT'.ljust(result_w)}  {'DETAIL'.ljust(detail_w)}  FIX\n")
    for row in rows:
        detail = textwrap.wrap(row.detail, detail_w, break_long_words=False, break_on_hyphens=False) or [""]
        fix = textwrap.wrap(row.fix, fix_w, break_long_words=False, break_on_hyphens=False) or [""]
        for i in range(max(len(detail), len(fix))):
            first = i == 0
            cells = [
                (row.check if first else "").ljust(check_w),
                (row.result.upper() if first else "").ljust(result_w),
                (detail[i] if i < len(detail) else "").ljust(detail_w),
                fix[i] if i < len(fix) else "",
            ]
            out.write("  ".join(cells).rstrip() + "\n")
    code = exit_code(results)
    counts = ", ".join(f"{sum(1 for r in results if r.result == k)} {k}" for k in ("ok", "warn", "fail"))
    verdict = {EXIT_OK: "all checks passed", EXIT_WARN: "warnings only", EXIT_FAIL: "some checks failed"}[code]
    out.write(f"\n{counts}: {verdict} (exit code {code})\n")
