"""The prompting question and the leadership levers for each determinant.

Worded for a director: the question to ask of the organization, and what leadership can
change when the answer is no.
"""

from typing import NamedTuple

from app.determinants.models import Determinant


class DeterminantGuide(NamedTuple):
    prompt: str
    levers: list[str]


GUIDE: dict[Determinant, DeterminantGuide] = {
    Determinant.clarity: DeterminantGuide(
        prompt="Is it clear to people what innovation means here, where it is wanted, and how "
        "they can contribute?",
        levers=[
            "State in the strategy which problems and outcomes innovation should serve.",
            "Name the places where new approaches are wanted, and those where they are not.",
            "Publish one simple route for proposing an idea and say who decides, and by when.",
            "Tell the stories of projects that were adopted or stopped, and why.",
        ],
    ),
    Determinant.parity: DeterminantGuide(
        prompt="Does innovation stand level with other considerations (cost, risk, service "
        "targets) when a course of action is chosen?",
        levers=[
            "Ask for an innovative option, and the risk of not innovating, in every business case.",
            "Reserve part of regular budgets for trying new approaches, not only a separate fund.",
            "Count learning and outcomes, not only on-time delivery, in performance reviews.",
            "Have a senior sponsor argue for the new option when trade-offs are made.",
        ],
    ),
    Determinant.suitability: DeterminantGuide(
        prompt="Are the capabilities, skills, data and infrastructure fit for the options "
        "available?",
        levers=[
            "Fund the skills experiments need (design, data, evaluation) where the work is done.",
            "Give teams access to data, tools and test environments without months of approval.",
            "Adapt procurement, legal and IT rules so a small trial can start quickly.",
            "Pair business lines with the lab or outside experts instead of handing work over.",
        ],
    ),
    Determinant.normality: DeterminantGuide(
        prompt="Is innovation routine, part of how the organization normally works, rather "
        "than a tolerated exception?",
        levers=[
            "Put innovation into regular business planning, budgets and reporting cycles.",
            "Give initiatives organizational or system-level sponsors, not only enthusiasts.",
            "Give people dedicated time for it instead of leaving it to the side of the desk.",
            "Review the portfolio on a fixed rhythm, as any other part of the business.",
            "Treat a well-run experiment that fails as a result, not as a mistake.",
        ],
    ),
}
