"""Scoring: rubrics per round (optionally per track) and the judges' scorecards.

One scorecard per assignment (a database constraint); values checked by the form, the service and
the database; every change written to an append-only history in the same transaction; a stale tab
cannot overwrite a newer save (optimistic version check). Judges never see each other's scores.
"""
