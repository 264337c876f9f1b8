"""node.http over TLS 1.3: the client certificate reaches the ASGI scope (TLS extension), once per
connection; anonymous clients are served when the context makes the certificate optional."""

from __future__ import annotations

import logging
import ssl

import pytest
from cryptography import x509

from tests.node.http.conftest import RawClient, Recorder, run, serving, until


def test_client_certificate_reaches_the_scope(pki):
    recorder = Recorder()

    async def main():
        async with serving(recorder, context=pki.server_context()) as server:
            client = await RawClient.connect(server.address[1], pki.client_context(pki.partner))
            first = await client.request(target=b"/one")
            second = await client.request(target=b"/two")
            client.close()
        return first, second

    first, second = run(main())
    assert first.status == second.status == 200
    one, two = recorder.scopes
    assert one["scheme"] == "https"
    tls = one["extensions"]["tls"]
    assert two["extensions"]["tls"] is tls  # computed once per connection
    [pem] = tls["client_cert_chain"]
    expected = x509.load_pem_x509_certificate(pki.partner[0].read_bytes())
    assert x509.load_pem_x509_certificate(pem.encode()) == expected
    assert tls["client_cert_name"] == expected.subject.rfc4514_string()
    assert tls["tls_version"] == 0x0304
    assert tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert tls["client_cert_error"] is None and tls["server_cert"] is None


def test_client_without_certificate_is_served_with_an_empty_chain(pki):
    recorder = Recorder()

    async def main():
        async with serving(recorder, context=pki.server_context()) as server:
            client = await RawClient.connect(server.address[1], pki.client_context())
            response = await client.request()
            client.close()
        return response

    assert run(main()).status == 200
    tls = recorder.scopes[0]["extensions"]["tls"]
    assert tls["client_cert_chain"] == [] and tls["client_cert_name"] is None


def test_untrusted_certificate_fails_the_handshake_and_is_counted(pki, caplog):
    recorder = Recorder()

    async def main():
        async with serving(recorder, context=pki.server_context(ssl.CERT_REQUIRED)) as server:
            for credential in (None, pki.stranger_partner):
                client = None
                with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
                    client = await RawClient.connect(server.address[1], pki.client_context(credential))
                    await client.request()  # TLS 1.3: the client learns of the refusal on reading
                if client is not None:
                    client.close()
            await until(lambda: server.metrics.connections_open == 0)
            return server.metrics

    with caplog.at_level(logging.INFO):
        metrics = run(main())
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert recorder.scopes == []
    assert metrics.tls_handshake_failures == 2 and metrics.connections_open == 0


def test_plain_http_to_a_tls_server_is_a_handshake_failure(pki):
    async def main():
        async with serving(Recorder(), context=pki.server_context()) as server:
            client = await RawClient.connect(server.address[1])
            await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert await client.closed()
            await until(lambda: server.metrics.connections_open == 0)
            return server.metrics

    assert run(main()).tls_handshake_failures == 1

