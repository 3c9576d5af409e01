"""Accounts: people, their log-in, and the roles they hold in competitions.

A person is one account; what they may do depends on the roles they hold per competition
(organizer, institution organizer, judge, student) and on the platform-wide admin flag.
"""
