"""Results: aggregation, flags, ranking, advancement, awards, public notice and appeals,
publication as a frozen snapshot, feedback to teams, statistics and exports."""
