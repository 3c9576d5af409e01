"""Shared plumbing: database types, audit log, jobs, mail, errors, i18n, permissions, health.

No domain rules live here.
"""
