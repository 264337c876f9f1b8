"""node.http.problem: the answers the server gives by itself are complete RFC 9457 responses."""

from __future__ import annotations

import json
import re

from node.http.problem import BAD_REQUEST, INTERNAL, PROTOCOL_PROBLEMS, http_date, render_problem


def _split(response: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def test_render_problem_is_a_closing_problem_json_response():
    lines, body = _split(render_problem(INTERNAL))
    assert lines[0] == b"HTTP/1.1 500 Internal Server Error"
    assert b"content-type: application/problem+json" in lines and b"connection: close" in lines
    assert f"content-length: {len(body)}".encode() in lines
    assert json.loads(body) == {
        "type": "urn:eledger:problem:api.internal",
        "title": "Internal Server Error",
        "status": 500,
        "detail": INTERNAL.detail,
        "code": "api.internal",
    }


def test_render_problem_for_head_keeps_the_length_and_drops_the_body():
    _, body = _split(render_problem(BAD_REQUEST))
    lines, nothing = _split(render_problem(BAD_REQUEST, head=True))
    assert nothing == b"" and f"content-length: {len(body)}".encode() in lines


def test_protocol_problems_cover_the_statuses_h11_suggests():
    assert sorted(PROTOCOL_PROBLEMS) == [400, 431, 501]


def test_http_date_is_an_imf_fixdate():
    assert re.fullmatch(rb"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", http_date())
