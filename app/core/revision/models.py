from sqlmodel import Field, SQLModel


class DataRevision(SQLModel, table=True):
    """One row, bumped in the same transaction as every write to portfolio data.

    Reports derive their ETag from it, so a dashboard's conditional poll is answered
    by reading one integer instead of recomputing the report.
    """

    __tablename__ = "data_revision"

    id: int = Field(default=1, primary_key=True)
    revision: int = Field(default=0)
