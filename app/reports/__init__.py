"""Reports: aggregates computed in the database; no tables of their own."""
