"""Does the sample parse?"""

from __future__ import annotations

import ast
import warnings
from typing import Any

from harness.records import Sample


def check_syntax(sample: Sample) -> dict[str, Any]:
    """Parse solution and tests; on failure, name the file, line and message."""
    for name, source in (("solution.py", sample.solution), ("test_solution.py", sample.tests)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes etc. are not our verdict
                ast.parse(source, filename=name)
        except SyntaxError as exc:
            return {"ok": False, "file": name, "line": exc.lineno, "offset": exc.offset,
                    "message": exc.msg, "text": (exc.text or "").rstrip()[:200]}
        except (ValueError, RecursionError, MemoryError) as exc:
            return {"ok": False, "file": name, "line": None, "message": str(exc)[:200]}
    return {"ok": True}
