"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Every value can be changed through the environment (the systemd unit reads
/etc/competition/competition.env), so the same file serves a 2-core test host and a 32-core one.

Why these choices:
- **gthread workers** (processes with a few threads each). A 500 MB video reaches the app while it
  is still being uploaded (nginx streams upload routes without buffering, so the deadline is judged
  by when the upload began): with plain sync workers one slow upload would hold a whole process,
  and gunicorn's `timeout` would kill it after 60 s. With gthread, a thread waits on the upload,
  the other threads keep serving pages and the worker's heartbeat keeps running, so `timeout` only
  catches a process that is truly stuck.
- **workers = 2 × CPU + 1**, gunicorn's own rule of thumb (pages are database-bound, a few ms of
  CPU each); `WEB_CONCURRENCY` overrides it (the name Heroku and others use), `GUNICORN_THREADS`
  the threads per worker. Certificates and archives are rendered by the RQ worker, not here.
- **preload_app = False**: each worker imports the app itself. The app opens database and Redis
  connections lazily, so preloading would save only a little memory, but `kill -HUP` (a graceful
  reload after a deploy) reloads the code only without preloading.
- **worker_tmp_dir = /dev/shm**: the heartbeat file lives in memory; on a disk-backed /tmp a slow
  disk (or a full one) can stall workers until gunicorn kills them.
- **no max_requests** by default: replacing a worker every few thousand requests drops the
  keep-alive connections it holds, and a request already on its way on one of them gets no answer
  (measured with benchmarks/http_load.py: one timed-out request per open connection at each
  restart; behind nginx with upstream keep-alive, a 502). Memory stays flat here (uploads stream,
  certificates render in the RQ worker: benchmarks/uploads.py); `GUNICORN_MAX_REQUESTS` (with
  `GUNICORN_MAX_REQUESTS_JITTER`) turns replacement on should a leak ever need it.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
preload_app = False
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's heartbeat files

# A worker whose heartbeat stops for this long is killed and replaced (not a request time limit).
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM / a deploy: requests in flight, uploads included, get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 120)
# nginx keeps connections to the app open between requests (upstream keepalive).
keepalive = _int("GUNICORN_KEEPALIVE", 75)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)

# Request line and header limits stay at gunicorn's defaults (4 KiB line, 100 headers); bodies are
# limited per route by the app itself (MAX_CONTENT_LENGTH for uploads, 256 KiB otherwise).

# nginx on the same host is the only client; ProxyFix (TRUSTED_PROXIES=1) reads X-Forwarded-*.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stderr and from there to the journal (systemd); "-" means stderr/stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# who, what, status, size, duration in microseconds, and the proxy's request id when it sends one
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s" rid=%({x-request-id}i)s'
proc_name = "competition-web"
