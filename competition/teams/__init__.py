"""Teams: the students who enter a competition (leader and members), their advisors, invitations
and the review by their institution.

States: draft → submitted (for review) → approved / returned (with a reason) → …; withdrawn at any
time by the leader. Changes after approval or after registration closes need an organizer to
unlock the team (which puts it back to draft).
"""
