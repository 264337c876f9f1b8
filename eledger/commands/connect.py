"""How a command names the node it talks to: `--profile FILE` (or $ELEDGER_PROFILE), `--api URL`,
and `--cert` / `--key` / `--ca` (docs/client.md "Profiles"). Options given on the command line win
over the profile's members. Shared by every command that talks to a node; opens no connection
until a client is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from client.errors import ClientError, ProblemError
from client.http import ApiClient, Retry
from client.profile import PROFILE_ENV, Profile, read_profile

ProfileOpt = Annotated[Path | None, typer.Option("--profile", envvar=PROFILE_ENV, help="Profile file naming the node's API, your certificate and key, and the CA (docs/client.md).", dir_okay=False)]
ApiOpt = Annotated[str | None, typer.Option("--api", help="The node's API URL, http(s)://HOST:PORT (default: the profile's api_url).")]
CertOpt = Annotated[Path | None, typer.Option("--cert", help="Your role certificate, presented over HTTPS (default: the profile's).", dir_okay=False)]
KeyOpt = Annotated[Path | None, typer.Option("--key", help="The private key of --cert (default: the profile's).", dir_okay=False)]
CaOpt = Annotated[Path | None, typer.Option("--ca", help="CA certificate the node's TLS certificate chains to (default: the profile's).", dir_okay=False)]


@dataclass(frozen=True)
class Connection:
    """The node a command talks to, once its options and profile are resolved."""

    api_url: str
    certificate: Path | None
    private_key: Path | None
    ca: Path | None
    profile: Profile | None

    def client(self, *, timeout: float = 30.0, retry: Retry = Retry()) -> ApiClient:
        """An ApiClient for this node. Raises ClientError ("client.bad_url", "client.credentials")."""
        return ApiClient(self.api_url, cert=self.certificate, key=self.private_key, ca=self.ca, timeout=timeout, retry=retry)


def resolve_connection(profile: Path | None, api: str | None, cert: Path | None, key: Path | None, ca: Path | None) -> Connection | None:
    """The node named by the options (None if neither a profile nor --api is given). Raises
    ProfileError for a profile that cannot be used."""
    read = read_profile(profile) if profile is not None else None
    if read is None and api is None:
        return None
    return Connection(
        api_url=api if api is not None else read.api_url,  # type: ignore[union-attr]
        certificate=cert if cert is not None else (read.certificate if read else None),
        private_key=key if key is not None else (read.private_key if read else None),
        ca=ca if ca is not None else (read.ca if read else None),
        profile=read,
    )


def connect(profile: Path | None, api: str | None, cert: Path | None, key: Path | None, ca: Path | None) -> Connection:
    """`resolve_connection`, or exit 2 with what to give when the node is not named or the
    profile cannot be used."""
    try:
        connection = resolve_connection(profile, api, cert, key, ca)
    except ClientError as exc:
        fail(2, f"{exc.code}: {exc}")
    if connection is None:
        fail(2, f"name the node: --profile FILE (or ${PROFILE_ENV}) or --api URL")
    return connection


def fail(code: int, message: str) -> NoReturn:
    Console(stderr=True, highlight=False).print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def describe(exc: ClientError) -> str:
    """`code: detail (field F)` for a problem, `code: message` for any other client error."""
    return exc.describe() if isinstance(exc, ProblemError) else f"{exc.code}: {exc}"
