"""In-app notifications: what a person was e-mailed about, listed on `/notifications` with the
unread ones counted in the header. Made by `competition.core.mail.queue_mail` for every message
to a user, so each workflow e-mail appears here too without a second call."""
