"""A body refused for its size is read to the end before the 413 page is sent, so the page reaches
the visitor behind nginx (gunicorn resets a connection left with more than 64 KiB unread, which nginx
turns into a 502); `make prod-check` checks the same through the real nginx site."""

from __future__ import annotations

import io

import pytest
from flask import request

from competition.core import errors
from competition.core.web import accepts_uploads


class CountingStream(io.BytesIO):
    def __init__(self, size: int):
        super().__init__(b"x" * size)
        self.read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def _post(client, path: str, size: int) -> tuple[int, CountingStream]:
    stream = CountingStream(size)
    response = client.post(
        path,
        input_stream=stream,
        headers={"Content-Length": str(size), "Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status_code, stream


def test_a_refused_form_is_read_to_the_end_before_the_413(client):
    status, stream = _post(client, "/account/login", 400_000)
    assert status == 413 and stream.read_bytes == 400_000


def test_a_huge_body_outside_the_upload_routes_is_not_read(client, monkeypatch):
    monkeypatch.setattr(errors, "DRAIN_REFUSED_BODY_BYTES", 300_000)
    status, stream = _post(client, "/account/login", 400_000)
    assert status == 413 and stream.read_bytes == 0


@pytest.mark.app_config()
def test_an_upload_route_reads_a_refused_file_up_to_what_uploads_may_send(app, client, monkeypatch):
    @app.post("/_upload")
    @accepts_uploads(limit=lambda: 100_000)
    def upload():
        return str(len(request.form))

    monkeypatch.setattr(errors, "DRAIN_REFUSED_BODY_BYTES", 100_000)  # uploads get MAX_CONTENT_LENGTH
    status, stream = _post(client, "/_upload", 500_000)
    assert status == 413 and stream.read_bytes == 500_000
    app.config["MAX_CONTENT_LENGTH"] = 400_000
    status, stream = _post(client, "/_upload", 500_000)  # more than any upload may send: not read
    assert status == 413 and stream.read_bytes == 0
