"""certs.tls: a real TLS 1.3 handshake with mutual authentication over a loopback socketpair."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone

import pytest

from certs.errors import CertError
from certs.layout import init_pki, load_roots
from certs.roles import Role
from certs.tls import create_api_server_context, create_client_context, create_server_context, read_peer_identity

TIMEOUT = 5.0
# OpenSSL checks certificate validity against the system clock, so these certificates must be
# valid now; `at` for eledger's own checks is the same instant. Nothing asserts on the time.
NOW = datetime.now(timezone.utc)
AT = NOW + timedelta(minutes=1)


@pytest.fixture(scope="module")
def pkis(tmp_path_factory):
    trusted = tmp_path_factory.mktemp("pki")
    init_pki(trusted, ["beijing", "tianjin"], NOW)
    stranger = tmp_path_factory.mktemp("stranger")
    init_pki(stranger, ["beijing"], NOW)
    return trusted, stranger


def files(pki, relative):
    return pki / f"{relative}.crt", pki / f"{relative}.key"


def handshake(server_context, client_context, server_hostname):
    """Run both sides of a TLS handshake; return (server result, client result): an SSL socket
    after one echoed byte, or the exception raised."""
    left, right = socket.socketpair()
    left.settimeout(TIMEOUT)
    right.settimeout(TIMEOUT)
    results: dict[str, object] = {}

    def serve():
        try:
            conn = server_context.wrap_socket(left, server_side=True)
            conn.sendall(conn.recv(1))
            results["server"] = conn
        except (ssl.SSLError, OSError) as exc:
            results["server"] = exc
            left.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        conn = client_context.wrap_socket(right, server_hostname=server_hostname)
        conn.sendall(b"x")
        if conn.recv(1) != b"x":
            raise ConnectionAbortedError("server closed the connection")
        results["client"] = conn
    except (ssl.SSLError, OSError) as exc:
        results["client"] = exc
        right.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    return results["server"], results["client"]


def test_tls13_mutual_handshake_between_validators(pkis):
    trusted, _ = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    client_ctx = create_client_context(*files(trusted, "tianjin/nodes/tianjin-1"), roots)
    server, client = handshake(server_ctx, client_ctx, "beijing-1.beijing.eledger")
    assert isinstance(server, ssl.SSLSocket), server
    assert isinstance(client, ssl.SSLSocket), client
    assert server.version() == client.version() == "TLSv1.3"
    peer = read_peer_identity(server, roots=roots, at=AT, role=Role.VALIDATOR)
    assert (peer.region, peer.name) == ("tianjin", "tianjin-1")
    node = read_peer_identity(client, roots=roots, at=AT, role=Role.VALIDATOR, region="beijing")
    assert node.name == "beijing-1"
    with pytest.raises(CertError) as info:
        read_peer_identity(server, roots=roots, at=AT, role=Role.STAFF)
    assert info.value.code == "cert.wrong_role"
    server.close()
    client.close()


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_tls13_handshake_with_loopback_names(pkis, hostname):
    trusted, _ = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    client_ctx = create_client_context(*files(trusted, "beijing/staff/beijing-window-1"), roots)
    server, client = handshake(server_ctx, client_ctx, hostname)
    assert isinstance(server, ssl.SSLSocket) and isinstance(client, ssl.SSLSocket)
    assert read_peer_identity(server, roots=roots, at=AT).role is Role.STAFF
    server.close()
    client.close()


def test_tls_server_refuses_client_from_unknown_ca(pkis):
    trusted, stranger = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    client_ctx = create_client_context(*files(stranger, "beijing/nodes/beijing-1"), roots)
    server, client = handshake(server_ctx, client_ctx, "beijing-1.beijing.eledger")
    assert isinstance(server, ssl.SSLCertVerificationError), server
    assert "certificate verify failed" in str(server)
    assert isinstance(client, (ssl.SSLError, OSError))


def test_tls_client_refuses_server_from_unknown_ca(pkis):
    trusted, stranger = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_server_context(*files(stranger, "beijing/nodes/beijing-1"), roots)
    client_ctx = create_client_context(*files(trusted, "tianjin/nodes/tianjin-1"), roots)
    server, client = handshake(server_ctx, client_ctx, "beijing-1.beijing.eledger")
    assert isinstance(client, ssl.SSLCertVerificationError), client
    assert isinstance(server, (ssl.SSLError, OSError))


def test_tls_client_refuses_wrong_service_name(pkis):
    trusted, _ = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    client_ctx = create_client_context(*files(trusted, "tianjin/nodes/tianjin-1"), roots)
    _, client = handshake(server_ctx, client_ctx, "tianjin-1.tianjin.eledger")
    assert isinstance(client, ssl.SSLCertVerificationError)
    assert "Hostname mismatch" in str(client)


def test_server_context_requires_tls13_and_client_certificate(pkis):
    trusted, _ = pkis
    roots = list(load_roots(trusted).values())
    context = create_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_3
    assert context.verify_mode is ssl.CERT_REQUIRED
    with pytest.raises(CertError) as info:
        create_server_context(trusted / "missing.crt", trusted / "missing.key", roots)
    assert info.value.code == "cert.not_found"


def test_api_server_context_accepts_clients_with_or_without_a_trusted_certificate(pkis):
    trusted, stranger = pkis
    roots = list(load_roots(trusted).values())
    server_ctx = create_api_server_context(*files(trusted, "beijing/nodes/beijing-1"), roots)
    assert server_ctx.verify_mode is ssl.CERT_OPTIONAL and server_ctx.minimum_version is ssl.TLSVersion.TLSv1_3
    anonymous = ssl.create_default_context(cafile=str(trusted / "beijing" / "ca.crt"))
    server, client = handshake(server_ctx, anonymous, "127.0.0.1")
    assert isinstance(server, ssl.SSLSocket) and server.getpeercert(binary_form=True) is None
    partner = create_client_context(*files(trusted, "tianjin/partners/tianjin-gateway"), roots)
    server, client = handshake(server_ctx, partner, "127.0.0.1")
    assert isinstance(server, ssl.SSLSocket) and server.getpeercert(binary_form=True)
    foreign = create_client_context(*files(stranger, "beijing/partners/beijing-gateway"), roots)
    server, client = handshake(server_ctx, foreign, "127.0.0.1")
    assert isinstance(server, ssl.SSLCertVerificationError)
