"""The one exception of `v2h assess`: a file, a line and what is wrong there."""

from __future__ import annotations


class AssessError(Exception):
    """Input `v2h assess` cannot use: `path`, `line` (1 = the header; 0 = the whole file)
    and `problem`; printed as FILE:LINE: problem, as the config's errors are."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem
