"""schemathesis against the live OpenAPI document of a running node (issue 10, Tests; api.md).

A devnet of two validators, Beijing and Tianjin, runs as real processes (two, because a Tianjin
partner's certificate must come from a CA of the genesis) and is seeded with departments,
seals, recognition rules and licences. The Beijing node's `/openapi.json` is loaded over HTTPS,
and every operation is called with what schemathesis makes of that document:

- its coverage phase: deterministic boundary values, missing and extra members, wrong types,
  and the methods an operation's path does not have;
- the document's own examples;
- ELEDGER_FUZZ_EXAMPLES (default DEFAULT_EXAMPLES) generated requests per operation that fit
  the document (positive) and as many that do not (negative).

Each caller runs the whole document presenting its certificate: anonymous, the Beijing
auditor, the Tianjin partner; the Beijing department runs the submission routes, which refuse
the others before they read a body. Every answer must

- not be a server error;
- conform to the document: a documented status, its content type, body schema and headers
  (schemathesis' response checks); a request that does not fit it refused (4xx); an
  undocumented method 405 with Allow;
- if an error, be a problem (`application/problem+json`, api.md §3.1) whose `status` is the
  answer's and whose `type` names its `code`;
- if the request fits the document (positive, or an example), not be refused for its form
  (400, or a code of SHAPE_CODES / SHAPE_SUFFIXES): the document states what the node reads.
  What only the ledger can judge (a cursor the node did not issue, `from` > `to`, a seal
  signature, a region of another genesis, the purpose a partner must state, members that must
  agree) may still be refused with the ledger's codes (api.md §1.3).

Identifiers whose check characters no pattern states are named by a `format` (api.md §1.2:
`uscc`, `licence-type`, `licence-id`); the strategies registered here for them draw valid
values, half of them what the seed registered, so routes reach real records.

Generation is derandomized (a run is repeatable) and the requests are counted: at least
MIN_REQUESTS. Only the processes started here are stopped.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rich.console import Console
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from api.limits import ClientLimits
from api.schemas import PROBLEM_TYPE_PREFIX
from client.profile import read_profile
from ledger.ids import USCC_ALPHABET, complete_uscc, format_licence_id, parse_licence_id
from node.devnet import Devnet, DevnetError, check_ports_free, prepare_devnet, random_port_base, seed_devnet, start_nodes, stop_nodes, wait_ready
from node.http.limits import HttpLimits

DEFAULT_EXAMPLES = 10
EXAMPLES = int(os.environ.get("ELEDGER_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
MIN_REQUESTS = 1000
#: Who calls: (region, profile role), None for anonymous; and the operations it calls (None: all).
SUBMISSIONS = frozenset({"POST /v1/transactions", "POST /v1/transactions/batch"})
CALLERS: dict[str, tuple[tuple[str, str] | None, frozenset[str] | None]] = {
    "anonymous": (None, None),
    "beijing-auditor": (("beijing", "auditor"), None),
    "tianjin-partner": (("tianjin", "partner"), None),
    "beijing-department": (("beijing", "department"), SUBMISSIONS),
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
REQUEST_TIMEOUT_S = 30.0
KEEPALIVE_S = HttpLimits().keepalive_timeout
#: The statuses by which this API refuses a request (api.md §3.3).
REFUSALS = ["400", "403", "404", "405", "409", "410", "413", "422", "429"]
#: Codes that refuse a request for its form: a request that fits the document never gets them.
SHAPE_CODES = {"api.invalid_parameter", "api.bad_json"}
SHAPE_SUFFIXES = ("type", "missing_field", "unknown_field", "format", "length", "range", "binary", "date")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz") / "net"
    rng = random.Random()
    limits = ClientLimits(rate=1e6, burst=1e6, in_flight=1 << 16)  # the fuzzer is one fast client
    for _ in range(20):
        net = prepare_devnet(directory, 2, p2p_base=(base := random_port_base(rng)), api_base=base + 10, api_limits=limits)
        try:
            check_ports_free(net)
            break
        except DevnetError:
            continue
    else:
        raise AssertionError("no free ports for the devnet after 20 tries")
    procs = start_nodes(net)
    try:
        wait_ready(net, procs)
        assert seed_devnet(net, Console(quiet=True)) is True
        yield net
    finally:
        stop_nodes(procs)


def register_formats(net: Devnet) -> None:
    """Strategies for the identifier formats the document names (api.md §1.2): valid values,
    half of them registered by the seed (a department's USCC, a licence type, a licence id)."""
    licence_ids = sorted(p.stem for p in (net.dir / "documents").glob("*/*.json"))
    regions = json.loads((net.dir / "network.json").read_text())["regions"].values()
    seeded_usccs = sorted({d["uscc"] for r in regions for d in r["departments"]} | {parse_licence_id(i).issuer for i in licence_ids})
    seeded_types = sorted({t["code"] for r in regions for d in r["departments"] for t in d["licence_types"]})
    usccs = st.text(USCC_ALPHABET, min_size=17, max_size=17).map(complete_uscc)
    types = st.builds(lambda authority, n: f"{authority}{n:03d}", usccs, st.integers(0, 999))
    ids = st.builds(
        lambda type_code, issuer, serial, version: format_licence_id(type_code, issuer, str(serial), f"{version:03d}"),
        types, usccs, st.integers(0, 10**20 - 1), st.integers(1, 999),
    )
    for name, seeded, drawn in (("uscc", seeded_usccs, usccs), ("licence-type", seeded_types, types), ("licence-id", licence_ids, ids)):
        schemathesis.openapi.format(name, st.one_of(st.sampled_from(seeded), drawn))


class Run:
    """Sends cases as one caller after another, judges the answers, counts them and keeps
    every failure, by operation and kind."""

    def __init__(self, url: str, ca: Path) -> None:
        self.url = url
        self.ca = str(ca)
        self.requests = 0
        self.outcomes: Counter[tuple[str, int, str | None]] = Counter()
        self.failures: dict[tuple[str, str], list[str]] = {}
        self.answered = time.monotonic()

    def call(self, case, caller: str, session: requests.Session, cert: tuple[str, str] | None, *, fits: bool) -> None:
        """Send `case` as `caller`; `fits`: it fits the document (positive, or an example)."""
        if time.monotonic() - self.answered > KEEPALIVE_S / 2:
            session.close()  # the node closes connections idle this long; generating a case may take that long
        try:
            response = case.call(base_url=self.url, session=session, timeout=REQUEST_TIMEOUT_S, verify=self.ca, cert=cert)
        except requests.RequestException as exc:
            self.fail(caller, case, "no answer", repr(exc))
            return
        finally:
            self.answered = time.monotonic()
        self.requests += 1
        code = self.problem_code(caller, case, response)
        self.outcomes[(case.operation.label, response.status_code, code)] += 1
        if fits and not holds_fraction(case.body) and (response.status_code == 400 or response.status_code == 422 and is_shape_code(code)):
            self.fail(caller, case, f"fits the document, refused {response.status_code} {code}", text(response))
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as exc:
            self.fail(caller, case, ", ".join(sorted({f.title for f in exc.exceptions})), str(exc))

    def problem_code(self, caller: str, case, response) -> str | None:
        """The `code` of an error answer, after checking it is a problem (api.md §3.1)."""
        if response.status_code < 400:
            return None
        media = (response.headers.get("content-type") or [""])[0]
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not media.startswith("application/problem+json") or not isinstance(body, dict):
            self.fail(caller, case, f"error {response.status_code} is not a problem", f"{media} {text(response)}")
            return None
        code = body.get("code")
        if body.get("status") != response.status_code or body.get("type") != f"{PROBLEM_TYPE_PREFIX}{code}":
            self.fail(caller, case, f"problem disagrees with its answer {response.status_code}", text(response))
        return code if isinstance(code, str) else None

    def fail(self, caller: str, case, what: str, detail: str) -> None:
        self.failures.setdefault((case.operation.label, what), []).append(f"{caller}: {detail}\n    {case.as_curl_command()[:1000]}")

    def report(self) -> str:
        """Each kind of failure once: how often, and its first occurrence."""
        return "\n".join(f"{label}: {what} ({len(seen)}×); first: {seen[0][:2000]}" for (label, what), seen in sorted(self.failures.items()))


def holds_fraction(value: object) -> bool:
    """Whether a generated body holds a number written with a fraction. JSON Schema counts 16.0
    as an `integer`; eledger's JSON has no fractions and refuses it (api.md §1.3), a difference
    of spelling no schema states."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(holds_fraction(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_fraction(v) for v in value)
    return False


def is_shape_code(code: str | None) -> bool:
    return code is None or code in SHAPE_CODES or code.startswith("ids.") or code.rsplit(".", 1)[-1] in SHAPE_SUFFIXES


def text(response) -> str:
    return response.content[:300].decode("utf-8", "replace")


def credentials(net: Devnet, who: tuple[str, str] | None) -> tuple[str, str] | None:
    """The certificate and key files of `who`'s profile (None: anonymous)."""
    if who is None:
        return None
    profile = read_profile(net.profile_path(*who))
    return str(profile.certificate), str(profile.private_key)


def generated(run: Run, strategy, caller: str, session: requests.Session, cert, *, fits: bool, examples: int) -> None:
    """Send up to `examples` cases `strategy` draws, derandomized (the same ones every run)."""

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def send(case) -> None:
        run.call(case, caller, session, cert, fits=fits)

    try:
        send()
    except hypothesis.errors.Unsatisfiable:
        pass  # negative mode of an operation with nothing to negate (no parameter, no body)


def exercise(run: Run, schema, operation, caller: str, session: requests.Session, cert) -> None:
    """Every kind of case of `operation`, as `caller`."""
    generation = schema.config.generation_for(operation=operation)
    for case in schema.iter_coverage_cases(operation, generation_modes=list(MODES), generation_config=generation):
        run.call(case, caller, session, cert, fits=case.meta is not None and case.meta.generation.mode.is_positive)
    for example in schema.get_strategies_from_examples(operation):
        generated(run, example, caller, session, cert, fits=True, examples=1)
    for mode in MODES:
        generated(run, operation.as_strategy(generation_mode=mode), caller, session, cert, fits=mode.is_positive, examples=EXAMPLES)


def test_every_generated_request_is_answered_as_the_document_says(devnet):
    register_formats(devnet)
    node = devnet.nodes[0]
    ca = devnet.dir / "pki" / "ca-bundle.pem"
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}})
    schema = schemathesis.openapi.from_url(f"{node.api_url}/openapi.json", config=config, verify=str(ca))
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run(node.api_url, ca)
    started = time.perf_counter()
    for caller, (who, only) in CALLERS.items():
        cert = credentials(devnet, who)
        with requests.Session() as session:
            for operation in operations:
                if only is None or operation.label in only:
                    exercise(run, schema, operation, caller, session, cert)
    elapsed = time.perf_counter() - started
    statuses = Counter(status for (_, status, _) in run.outcomes.elements())
    print(f"{run.requests} requests in {elapsed:.1f} s over {len(operations)} operations; statuses {dict(sorted(statuses.items()))}")
    for (label, status, code), count in sorted(run.outcomes.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")):
        print(f"  {label} {status} {code or ''} ×{count}")
    assert not run.failures, f"{sum(map(len, run.failures.values()))} failures:\n{run.report()}"
    assert run.requests >= MIN_REQUESTS
