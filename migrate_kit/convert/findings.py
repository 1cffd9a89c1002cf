"""Findings: what a person must read before a converted pipeline is deployed.

Every mapping decision that is not exact leaves a :class:`Finding`. Its severity says what it
means for the plan:

- ``info``: done as v1 did it, worth knowing (a name that had to change, a setting carried over);
- ``warning``: converted, but something changed or was dropped; the message says what;
- ``blocking``: this pipeline cannot be deployed as planned; the message says why and what to do
  instead.

A pipeline's verdict is the inventory's vocabulary (``ready``, ``needs attention``, ``blocked``)
derived from its worst finding, so the plan and the inventory read the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from migrate_kit.inventory import BLOCKED, NEEDS_ATTENTION, READY

__all__ = [
    "Finding",
    "Severity",
    "blocking",
    "info",
    "verdict_of",
    "warning",
    "worst",
]


class Severity(str, enum.Enum):
    """How much a finding matters; ordered ``INFO < WARNING < BLOCKING``."""

    INFO = "info"
    WARNING = "warning"
    BLOCKING = "blocking"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.BLOCKING: 2}


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer must know: a severity, a stable code, the step (if any) and prose.

    ``code`` is a short kebab-case key (``no-v2-equivalent``, ``lossy-mapping``...) that tests and
    reports can group by; ``message`` is the sentence a person reads.
    """

    severity: Severity
    code: str
    message: str
    step: str | None = None

    def describe(self) -> str:
        """One line: ``[warning] step 'x': message (code)``."""
        where = f"step '{self.step}': " if self.step else ""
        return f"[{self.severity.value}] {where}{self.message} ({self.code})"


def info(code: str, message: str, step: str | None = None) -> Finding:
    """An ``info`` finding."""
    return Finding(Severity.INFO, code, message, step)


def warning(code: str, message: str, step: str | None = None) -> Finding:
    """A ``warning`` finding: converted, but something changed."""
    return Finding(Severity.WARNING, code, message, step)


def blocking(code: str, message: str, step: str | None = None) -> Finding:
    """A ``blocking`` finding: the pipeline cannot be deployed as planned."""
    return Finding(Severity.BLOCKING, code, message, step)


def worst(findings: Iterable[Finding]) -> Severity | None:
    """The highest severity among ``findings``, or None when there are none."""
    severities = [f.severity for f in findings]
    return max(severities, key=lambda s: s.rank) if severities else None


def verdict_of(findings: Iterable[Finding]) -> str:
    """``blocked`` with any blocking finding, ``needs attention`` with a warning, else ``ready``.

    Info findings alone leave a pipeline ready: they record exact mappings worth knowing.
    """
    top = worst(findings)
    if top is Severity.BLOCKING:
        return BLOCKED
    if top is Severity.WARNING:
        return NEEDS_ATTENTION
    return READY
