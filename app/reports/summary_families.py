"""Every family of derived data the reports read, in the order a rebuild needs: the one
list that whatever acts on all of them loops over (`portfolio summaries rebuild`, the bench
loaders, `app.models` for the metadata). A new family is added here.

Each module keeps its family's tables and triggers and explains them; its `FAMILY`
(`app.core.triggers.Family`) is what is listed. The families' rebuilds read the base
tables only, but for the timeline and flow summaries, which also read the periods' run
columns: those are repaired first.
"""

from app.core.triggers import Family
from app.reports import (
    barometer_summaries,
    experimentation_summaries,
    flow_summaries,
    outcome_summaries,
    summaries,
    timeline_summaries,
)

FAMILIES: tuple[Family, ...] = (
    outcome_summaries.FAMILY,
    summaries.FAMILY,
    timeline_summaries.PERIOD_RUNS,
    timeline_summaries.FAMILY,
    flow_summaries.FAMILY,
    flow_summaries.DETAILS,
    experimentation_summaries.FAMILY,
    barometer_summaries.FAMILY,
    barometer_summaries.REACH_FAMILY,
)
