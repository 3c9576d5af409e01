"""Platform administration: people, competitions, the outbox, the audit log and jobs."""
