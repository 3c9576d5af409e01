"""`make prod-check`: boot the app as production runs it and check it answers as it should.

What it does, against throw-away services so nothing shared is touched:
- a scratch PostgreSQL database on the local server (dropped at the end), a private redis-server on a
  free port and a local SMTP server (aiosmtpd) that keeps what it receives;
- `flask db upgrade` and `flask create-admin` with APP_ENV=production, a generated SECRET_KEY,
  DATABASE_URL, REDIS_URL, BASE_URL (https) and TRUSTED_PROXIES=1, as deploy/competition.env.example;
- gunicorn with deploy/gunicorn.conf.py (2 workers) and an RQ worker (`flask --app wsgi jobs worker`);
- smoke requests as through the one trusted proxy (X-Forwarded-Proto https, X-Forwarded-Host):
  home page in Chinese and English, security headers, a static file, log-in page and a real log-in,
  a password-reset e-mail going through Redis and the worker to the SMTP server, then its link
  setting a new password, a 404 page, the friendly 413 and an untrusted Host refused.

Prints one line per check and a PASS/FAIL summary; exits 1 on any failure.
Environment: PROD_CHECK_POSTGRES (default postgresql://<user>@127.0.0.1:5432/postgres) is where the
scratch database is created; PROD_CHECK_REDIS_URL uses that Redis instead of starting one;
PROD_CHECK_PAUSE=<seconds> keeps everything up that long once nginx runs, to look around by hand.
When nginx (and openssl) are installed, the sample site deploy/nginx/competition.conf is put in front
of gunicorn on free ports and checked too (redirect to HTTPS, gzip, static caching, body limits).
"""

from __future__ import annotations

import getpass
import html
import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes, policy
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PUBLIC_HOST = "contest.prodcheck.test"
ADMIN_EMAIL = "prod-check@example.edu.cn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001,S110 - not there yet
            pass
        time.sleep(interval)
    return False


class Mailbox:
    """A local SMTP server keeping every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class Browser:
    """Requests as the public proxy would pass them on: HTTPS outside, the public host name.

    Session cookies are Secure in production, so they are kept here by hand (the app is reached over
    plain HTTP behind the "proxy")."""

    def __init__(self, port: int, language: str = "zh-CN"):
        self.port = port
        self.language = language
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: bytes | None = None, headers=None, proxied=True):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Accept-Language": self.language, "Host": PUBLIC_HOST}
        if proxied:
            sent |= {
                "X-Forwarded-For": "203.0.113.7",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": PUBLIC_HOST,
                "X-Request-Start": f"t={time.time():.3f}",
            }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent |= headers or {}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data.decode("utf-8", "replace")

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, fields: dict, **kwargs):
        headers = {"Content-Type": "application/x-www-form-urlencoded"} | kwargs.pop("headers", {})
        return self.request("POST", path, body=urlencode(fields).encode(), headers=headers, **kwargs)


def https_request(port: int, method: str, path: str, *, body: bytes | None = None, headers=None):
    """A request to nginx over HTTPS (its certificate is a throw-away self-signed one)."""
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    connection.request(method, path, body=body, headers={"Host": PUBLIC_HOST, **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if not found:
        raise AssertionError("no CSRF token on the page")
    return html.unescape(found.group(1))


class ProdCheck:
    def __init__(self):
        self.started = time.monotonic()
        self.results: list[tuple[str, bool, str]] = []
        self.processes: dict[str, subprocess.Popen] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="prod-check-"))
        self.database = f"prodcheck_{int(time.time())}_{os.getpid()}"
        self.admin_url = (
            os.environ.get("PROD_CHECK_POSTGRES") or f"postgresql://{getpass.getuser()}@127.0.0.1:5432/postgres"
        )
        self.mailbox = Mailbox()
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)

    # --- the checks' bookkeeping -------------------------------------------------------------

    def check(self, name: str, condition: bool, detail: str = "") -> bool:
        self.results.append((name, bool(condition), detail))
        outcome = "ok  " if condition else "FAIL"
        elapsed = time.monotonic() - self.started
        print(f"  {outcome} {elapsed:5.1f}s {name}{'' if condition or not detail else ' — ' + detail}", flush=True)
        return bool(condition)

    # --- services -------------------------------------------------------------------------------

    def database_url(self) -> str:
        parts = urlsplit(self.admin_url)
        return parts._replace(path=f"/{self.database}").geturl()

    def admin_sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)

    def start_redis(self) -> str:
        if os.environ.get("PROD_CHECK_REDIS_URL"):
            return os.environ["PROD_CHECK_REDIS_URL"]
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (or set PROD_CHECK_REDIS_URL)")
        port = free_port()
        self.spawn(
            "redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )
        url = f"redis://127.0.0.1:{port}/0"

        def answers():
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")

        if not wait_for(answers, 10):
            raise RuntimeError("the private redis-server did not start")
        return url

    def environment(self, redis_url: str) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "GUNICORN_"))}
        env.update(
            APP_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=self.database_url(),
            REDIS_URL=redis_url,
            BASE_URL=f"https://{PUBLIC_HOST}",
            TRUSTED_PROXIES="1",
            DATA_DIR=str(self.workdir / "data"),
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(self.mailbox.port),
            MAIL_USE_TLS="false",
            LOG_LEVEL="WARNING",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="2",
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            PYTHONUNBUFFERED="1",
        )
        env.pop("TEST_DATABASE_URL", None)
        return env

    def spawn(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def flask(self, env: dict, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - our own command
            [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop_all(self) -> None:
        for name, process in reversed(self.processes.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    print(f"  {name} did not stop on SIGTERM; killing it", flush=True)
                    process.kill()
                    process.wait()
        self.mailbox.controller.stop()

    def show_logs(self) -> None:
        for log in sorted(self.workdir.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            print(f"\n--- last lines of {log.name} ---\n" + "\n".join(lines))

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> bool:
        started = self.started = time.monotonic()
        print(f"prod-check: scratch database {self.database}, app on 127.0.0.1:{self.port}", flush=True)
        self.mailbox.controller.start()
        created = False
        try:
            self.admin_sql(f'CREATE DATABASE "{self.database}"')
            created = True
            env = self.environment(self.start_redis())
            self.prepare(env)
            if self.boot(env):
                self.smoke()
                self.through_nginx()
        except Exception as error:  # noqa: BLE001 - reported as a failed check
            self.check("prod-check ran to the end", False, f"{type(error).__name__}: {error}")
        finally:
            self.stop_all()
            if created:
                try:
                    self.admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                except Exception as error:  # noqa: BLE001
                    print(f"  could not drop {self.database}: {error}")
        passed = all(ok for _, ok, _ in self.results)
        if not passed:
            self.show_logs()
        shutil.rmtree(self.workdir, ignore_errors=True)
        failed = [name for name, ok, _ in self.results if not ok]
        summary = "PASS" if passed else "FAIL"
        print(
            f"\nprod-check {summary}: {len(self.results) - len(failed)}/{len(self.results)} checks passed in {time.monotonic() - started:.1f} s"
        )
        for name in failed:
            print(f"  failed: {name}")
        return passed

    def prepare(self, env: dict) -> None:
        upgrade = self.flask(env, "db", "upgrade")
        if not self.check("flask db upgrade (production settings)", upgrade.returncode == 0, upgrade.stderr[-2000:]):
            raise RuntimeError("migrations failed")
        admin = self.flask(env, "create-admin", ADMIN_EMAIL, "--name", "Prod Check", "--password", self.password)
        if not self.check("flask create-admin", admin.returncode == 0, (admin.stderr or admin.stdout)[-2000:]):
            raise RuntimeError("no admin account")
        weak = dict(env, SECRET_KEY="change-me")  # noqa: S106 - the point: a known default
        refused = self.flask(weak, "routes")
        self.check(
            "production refuses a weak SECRET_KEY",
            refused.returncode != 0 and "SECRET_KEY" in refused.stderr,
            refused.stderr[-500:],
        )

    def boot(self, env: dict) -> bool:
        gunicorn = self.spawn(
            "gunicorn", [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"], env
        )
        worker = self.spawn("worker", [str(VENV_BIN / "flask"), "--app", "wsgi", "jobs", "worker"], env)
        browser = Browser(self.port)

        def healthy():
            status, _, body = browser.get("/healthz")
            return status == 200 and '"ok"' in body

        up = wait_for(healthy, 45)
        self.check("gunicorn answers /healthz with the database reachable", up)
        self.check("gunicorn runs (deploy/gunicorn.conf.py)", gunicorn.poll() is None)
        self.check("the RQ worker runs", worker.poll() is None)
        return up

    def smoke(self) -> None:
        chinese, english = Browser(self.port, "zh-CN"), Browser(self.port, "en")
        status, headers, page = chinese.get("/")
        self.check("home page in Chinese", status == 200 and '<html lang="zh-CN">' in page, f"status {status}")
        status, _, page = english.get("/")
        self.check("home page in English", status == 200 and '<html lang="en">' in page, f"status {status}")
        self.check("Content-Security-Policy", "default-src 'self'" in headers.get("Content-Security-Policy", ""))
        self.check("X-Frame-Options: DENY", headers.get("X-Frame-Options") == "DENY")
        self.check("Referrer-Policy", bool(headers.get("Referrer-Policy")))
        self.check("X-Content-Type-Options: nosniff", headers.get("X-Content-Type-Options") == "nosniff")
        self.check(
            "HSTS behind the trusted proxy's X-Forwarded-Proto: https",
            "max-age=" in headers.get("Strict-Transport-Security", ""),
        )
        _, plain_headers, _ = chinese.get("/", proxied=False)
        self.check("no HSTS over plain HTTP", "Strict-Transport-Security" not in plain_headers)
        status, headers, _ = chinese.get("/static/css/app.css")
        self.check("static file", status == 200 and headers.get_content_type() == "text/css", f"status {status}")
        status, _, _ = chinese.get("/", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        self.check("a Host other than BASE_URL's is refused", status == 400, f"status {status}")
        status, _, page = english.get("/no/such/page")
        self.check("404 page", status == 404 and "does not exist" in page, f"status {status}")
        status, _, page = english.post_form("/account/login", {"email": "x" * 400_000})
        self.check("friendly 413 for a body over the form limit", status == 413 and "larger than the limit" in page)

        self.log_in(english, self.password, "log-in with the admin account")
        self.reset_password_by_mail()

    def nginx_config(self) -> tuple[Path, int, int]:
        """deploy/nginx/competition.conf on free ports, pointing at this checkout and this gunicorn,
        with a self-signed certificate, inside a minimal nginx.conf of its own."""
        folder = self.workdir / "nginx"
        folder.mkdir()
        # nginx's workers run as an unprivileged user when it is started as root: they must reach
        # the request-body folder
        self.workdir.chmod(0o755)
        folder.chmod(0o777)
        subprocess.run(  # noqa: S603 - a fixed command
            [shutil.which("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={PUBLIC_HOST}",
             "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        http_port, https_port = free_port(), free_port()
        site = (ROOT / "deploy" / "nginx" / "competition.conf").read_text()
        replacements = {
            "/etc/letsencrypt/live/contest.example.edu.cn/fullchain.pem": str(folder / "cert.pem"),
            "/etc/letsencrypt/live/contest.example.edu.cn/privkey.pem": str(folder / "key.pem"),
            "contest.example.edu.cn": PUBLIC_HOST,
            "/srv/competition/": f"{ROOT}/",
            "/srv/competition;": f"{ROOT};",
            "server 127.0.0.1:8000": f"server 127.0.0.1:{self.port}",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl;",
        }
        for old, new in replacements.items():
            if old not in site:
                raise RuntimeError(f"the nginx site no longer contains {old!r}")
            site = site.replace(old, new)
        site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
        (folder / "site.conf").write_text(site)
        # started as root, nginx's workers would run as nobody/www-data, who may not read a checkout
        # in a private folder (mktemp -d is 0700): they run as the checkout's owner here instead
        owner = ROOT.stat().st_uid
        user = f"user {pwd.getpwuid(owner).pw_name};\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"""{user}daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
        )
        return folder / "nginx.conf", http_port, https_port

    def through_nginx(self) -> None:
        """The sample nginx site in front of gunicorn, when nginx is installed."""
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if nginx is None or not shutil.which("openssl"):
            print("  (nginx or openssl not installed: the sample nginx site is not checked)", flush=True)
            return
        config, http_port, https_port = self.nginx_config()
        tested = subprocess.run([nginx, "-t", "-c", str(config)], capture_output=True, text=True, timeout=30)  # noqa: S603
        if not self.check("nginx -t accepts deploy/nginx/competition.conf", tested.returncode == 0, tested.stderr):
            return
        self.spawn("nginx", [nginx, "-c", str(config)])
        if os.environ.get("PROD_CHECK_PAUSE"):
            print(f"  paused: nginx on https://127.0.0.1:{https_port}", flush=True)
            time.sleep(float(os.environ["PROD_CHECK_PAUSE"]))

        def listening():
            with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                return True

        if not self.check("nginx starts", wait_for(listening, 10)):
            return
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        connection.request("GET", "/competitions?x=1", headers={"Host": PUBLIC_HOST})
        response = connection.getresponse()
        response.read()
        connection.close()
        self.check(
            "nginx: plain HTTP is redirected to HTTPS",
            response.status == 301 and response.headers["Location"] == f"https://{PUBLIC_HOST}/competitions?x=1",
        )
        status, headers, body = https_request(https_port, "GET", "/", headers={"Accept-Encoding": "gzip"})
        self.check("nginx: the home page over HTTPS", status == 200, f"status {status}")
        self.check(
            "nginx: HSTS (the app sees https through X-Forwarded-Proto)",
            "max-age=" in headers.get("Strict-Transport-Security", ""),
        )
        self.check("nginx: pages are gzipped", headers.get("Content-Encoding") == "gzip")
        status, headers, _ = https_request(https_port, "GET", "/static/css/app.css")
        self.check(
            "nginx: static files from disk, cached",
            status == 200 and headers.get_all("Cache-Control") == ["public, max-age=86400"],
            f"status {status}",
        )
        status, headers, _ = https_request(https_port, "GET", "/static/vendor/bootstrap-5.3.9/bootstrap.min.css")
        self.check("nginx: vendored files cached for a year", "immutable" in headers.get("Cache-Control", ""))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        # ten times: the app must answer before reading a body it refuses, and the proxy still
        # sending it must get that answer, not a reset connection (a 502)
        answers = [
            https_request(
                https_port,
                "POST",
                "/account/login",
                body=b"email=" + b"x" * 400_000,
                headers=form | {"Accept-Language": "en"},
            )
            for _ in range(10)
        ]
        self.check(
            "nginx: a form over 256 KB reaches the app, which answers its own 413 (10 of 10)",
            all(
                status == 413 and b"larger than the limit" in body and "Content-Security-Policy" in headers
                for status, headers, body in answers
            ),
            f"statuses {[status for status, _, _ in answers]}",
        )
        status, headers, body = https_request(https_port, "POST", "/account/login", body=b"x" * 3_000_000, headers=form)
        self.check(
            "nginx: a body over 1 MB outside the upload routes is refused by nginx with the bilingual page",
            status == 413 and "内容过大".encode() in body and b"Upload too large" in body,
        )
        upload = "/teams/1/rounds/1/submission/slots/1/upload"
        status, headers, body = https_request(https_port, "POST", upload, body=b"x" * 3_000_000, headers=form)
        self.check(
            "nginx: an upload route takes a 3 MB body through to the app",
            "Content-Security-Policy" in headers and "内容过大".encode() not in body,
            f"status {status}",
        )

    def log_in(self, browser: Browser, password: str, name: str) -> None:
        status, _, page = browser.get("/account/login")
        if not self.check(f"{name}: the log-in page", status == 200, f"status {status}"):
            return
        fields = {"csrf_token": csrf_token(page), "email": ADMIN_EMAIL, "password": password}
        status, headers, _ = browser.post_form(
            "/account/login", fields, headers={"Referer": f"https://{PUBLIC_HOST}/account/login"}
        )
        location = headers.get("Location", "")
        session_cookie = next(
            (value for value in headers.get_all("Set-Cookie") or [] if value.startswith("session=")), ""
        )
        self.check(
            f"{name}: redirected after signing in",
            status == 302 and location.endswith("/account/"),
            f"status {status} → {location}",
        )
        self.check(
            f"{name}: session cookie Secure and HttpOnly", "Secure" in session_cookie and "HttpOnly" in session_cookie
        )
        # signed in: the dashboard, or for an admin without a second factor yet, its set-up page
        status, headers, page = browser.get("/account/")
        location = headers.get("Location", "")
        if status == 302 and "/login" not in location:
            status, headers, page = browser.get(urlsplit(location).path)
        self.check(
            f"{name}: a signed-in page, not the log-in form",
            status == 200 and "Prod Check" in page and 'name="password"' not in page,
            f"status {status} → {location}",
        )

    def reset_password_by_mail(self) -> None:
        browser = Browser(self.port, "en")
        status, _, page = browser.get("/account/password/forgot")
        status, _, page = browser.post_form(
            "/account/password/forgot",
            {"csrf_token": csrf_token(page), "email": ADMIN_EMAIL},
            headers={"Referer": f"https://{PUBLIC_HOST}/account/password/forgot"},
        )
        self.check("password reset requested", status == 200, f"status {status}")

        def delivered():
            with self.mailbox.lock:
                return any(ADMIN_EMAIL in str(message["To"]) for message in self.mailbox.messages)

        arrived = wait_for(delivered, 30)
        if not self.check("the reset e-mail went through Redis and the worker to SMTP", arrived):
            return
        with self.mailbox.lock:
            message = next(message for message in self.mailbox.messages if ADMIN_EMAIL in str(message["To"]))
        text = message.get_body(preferencelist=("plain",)).get_content()
        link = re.search(rf"https://{re.escape(PUBLIC_HOST)}(/account/password/reset/\S+)", text)
        if not self.check("the e-mail's link uses BASE_URL", link is not None, text[:300]):
            return
        path = link.group(1)
        status, _, page = browser.get(path)
        new_password = secrets.token_urlsafe(16)
        status, headers, _ = browser.post_form(
            path,
            {"csrf_token": csrf_token(page), "password": new_password, "password_confirm": new_password},
            headers={"Referer": f"https://{PUBLIC_HOST}{path}"},
        )
        location = headers.get("Location", "")
        self.check(
            "the link sets a new password",
            status == 302 and location.endswith("/account/login"),
            f"{status} → {location}",
        )
        self.log_in(Browser(self.port, "en"), new_password, "log-in with the new password")


def main() -> int:
    return 0 if ProdCheck().run() else 1


if __name__ == "__main__":
    sys.exit(main())
