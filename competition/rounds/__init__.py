"""Rounds (赛段): the ordered stages of a competition.

An institution-level round is run by each institution's organizer for their own teams; an
alliance-level round by the alliance. A round covers some tracks (all when none are named). Teams
enter either because they are approved (`all_approved`) or because they were recommended or
advanced into it (`advanced`, one `RoundEntry` each). An institution-level round names the round
its teams are recommended into and the quota each institution has.
"""
