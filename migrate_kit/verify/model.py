"""What testing a migrated deployment found: ``TestOutcome``, with a ``ParityResult`` when the
v1 pipeline ran too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "ERROR",
    "FAILED",
    "MATCH",
    "MISMATCH",
    "PASSED",
    "SKIPPED",
    "ParityResult",
    "TestOutcome",
]

#: ``TestOutcome.status``: the job Completed; it did not (or could not start); not tested.
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
#: ``ParityResult.result``: same outputs; different outputs; a run did not finish.
MATCH, MISMATCH, ERROR = "match", "mismatch", "error"


@dataclass(frozen=True)
class ParityResult:
    """How the v1 run of a pipeline compares with its v2 job."""

    result: str  # match | mismatch | error
    v1_run_id: str | None = None
    v1_status: str | None = None
    outputs: int = 0  # outputs compared
    files: int = 0  # files compared
    differences: tuple[str, ...] = ()  # one line each: which output or file differs, and where
    error: str | None = None  # why nothing could be compared

    @property
    def match(self) -> bool:
        return self.result == MATCH


@dataclass(frozen=True)
class TestOutcome:
    """What testing one migrated deployment found."""

    __test__ = False  # a library class, not a test: pytest must not collect it

    pipeline_id: str
    pipeline_name: str
    pipeline_version: str | None
    endpoint: str
    deployment: str | None
    status: str  # passed | failed | skipped
    job_name: str | None = None
    job_status: str | None = None
    duration_s: float | None = None  # from the invoke to the end seen by polling
    studio_url: str | None = None
    logs: str | None = None  # the job's logs: an azureml:// folder of the artifact store
    error: str | None = None  # why it failed, or was skipped
    inputs: Mapping[str, str] = field(default_factory=dict)  # v1 name -> the value given
    parity: ParityResult | None = None

    @property
    def label(self) -> str:
        """``name version``, for messages."""
        return f"{self.pipeline_name} {self.pipeline_version or ''}".strip()

    @property
    def ok(self) -> bool:
        """Whether the job completed and, when compared, matched v1 (a skip is not ok)."""
        return self.status == PASSED and (self.parity is None or self.parity.match)
