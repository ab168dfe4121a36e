from sqlmodel import Field, SQLModel


class DataRevision(SQLModel, table=True):
    """One row per kind of report data (a tracked table's name), bumped in the same
    transaction as every write that changes that kind.

    A report's ETag derives from the revisions of the kinds it reads, so a dashboard's
    conditional poll is answered by reading a few integers instead of recomputing the
    report, and a write that the report does not read leaves its ETag alone.
    """

    __tablename__ = "data_revisions"

    kind: str = Field(primary_key=True, max_length=40)
    revision: int = Field(default=0)
