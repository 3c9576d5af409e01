"""The alliance's shared pool of experts (the "Double Hundred" mentor group and the judges): their
profiles, invitations, import from Excel, and mentoring of teams."""
