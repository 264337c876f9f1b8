"""Routes that leave a literal path to the route that names it (docs/spec/api.md §3.4).

`POST /v1/seals/verify` and `GET /v1/seals/{seal_id}` both match the path `/v1/seals/verify`;
a route that matches path and method is taken over one that matches the path only, so
`GET /v1/seals/verify` would be read as the seal id "verify" and refused as a parameter. In a
router made with `route_class=literal_first()`, a route with path parameters does not match a
path that a route of the same router names literally: that path is the literal route's, and
another method on it is 405 `api.method_not_allowed` with `Allow`. Must never change which route
serves a path no literal route names.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


def literal_first() -> type[APIRoute]:
    """A route class for one router: its routes with path parameters yield the paths its
    literal routes name (however the router is mounted: both are formatted alike)."""
    literals: set[str] = set()

    class LiteralFirstRoute(APIRoute):
        def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
            super().__init__(path, endpoint, **kwargs)
            if not self.param_convertors:
                literals.add(self.path)

        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            match, child = super().matches(scope)
            if match is Match.NONE or not self.param_convertors:
                return match, child
            params = child.get("path_params", {})
            if self.path_format.format(**{name: params.get(name, "") for name in self.param_convertors}) in literals:
                return Match.NONE, {}
            return match, child

    return LiteralFirstRoute
