"""Operating an instance: one portable backup archive and its restore (competition.operations.backup),
and the invariant checker that says whether the data holds together (competition.operations.invariants).
The commands are `flask --app wsgi backup create|restore PATH` and `flask --app wsgi check`."""
