"""Judging: which judge reads which submission in which round (assignments). Issue 5 adds the
expert pool, conflicts of interest and the automatic assignment on top of this table."""
