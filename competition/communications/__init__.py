"""Communications of a competition: announcements on its page and bulk e-mails to segments of its
people (teams of a track or an institution, leaders, advisors, judges with pending work)."""
