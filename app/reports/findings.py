"""Findings: the thresholds a report checks, each with the sentence a director reads when it
is crossed.

A report lists its checks in the order its findings are given; `crossed` keeps those whose
threshold is crossed and builds only their messages, so a message may format its value
without a guard (a share of nothing is null and crosses no threshold).
"""

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from app.reports.schemas import Finding, FindingCode


def percent(value: float) -> str:
    return f"{value:.0%}"


@dataclass(frozen=True)
class Check:
    code: FindingCode
    # The measured count or share; None (a share of nothing) is never a finding. A Fraction
    # (the publication gap) is compared exactly and given as a float.
    value: float | Fraction | None
    threshold: float | Fraction
    # The message, given the value: called only when the threshold is crossed.
    message: Callable[[float], str]
    # Crossed below the threshold (a coverage); otherwise at or above it (a concentration).
    below: bool = False

    def is_crossed(self) -> bool:
        if self.value is None:
            return False
        return self.value < self.threshold if self.below else self.value >= self.threshold


def _reported(number: float | Fraction) -> float:
    return float(number) if isinstance(number, Fraction) else number


def crossed(*checks: Check) -> list[Finding]:
    """The findings of the checks whose threshold is crossed, in the order given."""
    findings = []
    for check in checks:
        if check.is_crossed():
            assert check.value is not None
            value = _reported(check.value)
            findings.append(
                Finding(
                    code=check.code,
                    message=check.message(value),
                    value=value,
                    threshold=_reported(check.threshold),
                )
            )
    return findings
