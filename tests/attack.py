"""The attacks tried against a live ``onec-sync serve`` and ``onec-sync exchange serve``.

Reusable: ``tests/test_attack.py`` runs it against servers it starts on loopback; against servers
of your own (a staging host), run it as a script::

    python -m tests.attack --api http://127.0.0.1:8000 --exchange http://127.0.0.1:8081/1c_exchange \\
        --api-key osk_... --user operator --password ... --onec-login 1c --onec-password ...

Each attack returns what it found wrong (an empty list: refused as it should be). Covered: JWT
alg=none and key confusion, JWT errors naming library internals, SQL injection through every
query parameter of the OpenAPI document, hostile CORS origins, idempotency races, logout and
refresh-token reuse, a real key's budget spent by bogus keys, filename traversal, zip slip, zip
bombs, XXE, sessions used after their failure, documents of the wrong kind, server paths in
replies, the exchange port's paths, the login lockout.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import secrets
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Attack = Callable[["Target"], list[str]]
INJECTIONS = (
    "' OR '1'='1",
    "1; DROP TABLE products;--",
    "%' UNION SELECT password_hash, NULL FROM users--",
    "\\' OR 1=1 --",
    ") OR (1=1",
)
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "Not enough segments", "Signature verification")
CATALOG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05">'
    "<Каталог><Ид>atk</Ид><Наименование>atk</Наименование></Каталог></КоммерческаяИнформация>"
)
XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    '<КоммерческаяИнформация ВерсияСхемы="2.05"><Каталог><Ид>x</Ид><Наименование>&e;'
    "</Наименование></Каталог></КоммерческаяИнформация>"
)


@dataclass
class Target:
    api: str  # http://host:port (the API is under /api/v1)
    exchange: str  # the exchange URL, http://host:port/1c_exchange
    api_key: str  # a shop key
    user: str  # a person (operator or admin)
    password: str
    onec_login: str
    onec_password: str
    replies: list[str] = field(default_factory=list)  # every exchange reply seen

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.api + "/api/v1" + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.api + "/api/v1" + path, timeout=30, **kw)

    def login(self) -> dict[str, Any]:
        response = self.post("/auth/login", json={"username": self.user, "password": self.password})
        response.raise_for_status()
        tokens: dict[str, Any] = response.json()
        return tokens


# --- the API ------------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forged(header: dict[str, Any], signature: str = "") -> str:
    now = int(time.time())
    claims = {"sub": "admin", "role": "admin", "type": "access", "jti": "x", "fam": "x",
              "iat": now, "nbf": now, "exp": now + 600}  # fmt: skip
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


def forged_tokens(t: Target) -> list[str]:
    """alg=none, other algorithms (key confusion), a guessed secret, garbage: all 401, no leaks."""
    tokens = [
        _forged({"alg": "none", "typ": "JWT"}),
        _forged({"alg": "RS256", "typ": "JWT"}, _b64({"s": 1})),
        _forged({"alg": "HS512", "typ": "JWT"}, _b64({"s": 1})),
        _forged({"alg": "HS256", "typ": "JWT", "kid": "../../dev/null"}, _b64({"s": 1})),
        "not.a.token",
        "abc",
    ]
    found = []
    for token in tokens:
        response = t.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 401:
            found.append(f"forged token {token[:30]}... got {response.status_code}")
        found += [f"JWT error leaks {w!r}" for w in LEAKS if w in response.text]
    return found


def sql_injection(t: Target) -> list[str]:
    """Every query parameter of every GET without path parameters: never a 5xx or a leak, and
    the catalog and the users are there afterwards."""
    spec = t.get("/openapi.json").json()
    before = t.get("/products", headers={"X-API-Key": t.api_key}).json()
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        names = [p["name"] for p in get.get("parameters", []) if p.get("in") == "query"]
        for name in names:
            for payload in INJECTIONS:
                response = t.get(path, params={name: payload}, headers={"X-API-Key": t.api_key})
                if response.status_code >= 500 or any(w in response.text for w in LEAKS):
                    found.append(f"GET {path}?{name}={payload!r}: {response.status_code}")
                if "$argon2" in response.text:
                    found.append(f"GET {path}?{name}={payload!r} shows password hashes")
    after = t.get("/products", headers={"X-API-Key": t.api_key}).json()
    if before != after:
        found.append("the product list changed under injection")
    t.login()  # the users table is still there
    return found


def hostile_cors(t: Target) -> list[str]:
    found = []
    for origin in ("https://evil.example", "null", "https://shop.example.ru.evil.example"):
        for method in ("OPTIONS", "GET"):
            response = httpx.request(
                method,
                t.api + "/api/v1/products",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "GET",
                    "X-API-Key": t.api_key,
                },
                timeout=30,
            )
            allowed = response.headers.get("Access-Control-Allow-Origin")
            if allowed in (origin, "*"):
                found.append(f"{method} from {origin} allowed ({allowed})")
    return found


def idempotency_race(t: Target) -> list[str]:
    key = f"race-{secrets.token_hex(4)}"
    order = {
        "customer": {"ref": "atk", "name": "Атакующий", "email": "a@example.ru"},
        "lines": [{"product_id": "p-drill", "quantity": "1", "price": "5990"}],
    }
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def submit() -> None:
        response = t.post(
            "/orders", json=order, headers={"X-API-Key": t.api_key, "Idempotency-Key": key}
        )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    numbers = {r.json().get("number") for r in results if r.status_code in (200, 201)}
    found = []
    if statuses.count(201) != 1 or any(s not in (200, 201, 409) for s in statuses):
        found.append(f"racing one Idempotency-Key: statuses {statuses}")
    if len(numbers) != 1:
        found.append(f"racing one Idempotency-Key made orders {sorted(map(str, numbers))}")
    return found


def sessions(t: Target) -> list[str]:
    """Logout ends the refresh token; a reused refresh token ends its family."""
    found = []
    tokens = t.login()
    t.post("/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    again = t.post("/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    if again.status_code != 401:
        found.append(f"a refresh token after logout got {again.status_code}")
    stolen = t.login()
    rotated = t.post(
        "/auth/refresh", headers={"Authorization": f"Bearer {stolen['refresh_token']}"}
    )
    if rotated.status_code != 200:
        return [*found, f"refreshing got {rotated.status_code}"]
    replay = t.post("/auth/refresh", headers={"Authorization": f"Bearer {stolen['refresh_token']}"})
    fresh = rotated.json()["access_token"]
    me = t.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    if replay.status_code != 401 or me.status_code != 401:
        found.append(f"refresh token reused: {replay.status_code}, its family {me.status_code}")
    return found


def foreign_budget(t: Target) -> list[str]:
    """Bogus keys with a real key's prefix do not spend its rate-limit budget."""
    prefix = t.api_key.split("_")[1]
    first = t.get("/groups", headers={"X-API-Key": t.api_key})
    for _ in range(5):
        t.get("/groups", headers={"X-API-Key": f"osk_{prefix}_bogus"})
    second = t.get("/groups", headers={"X-API-Key": t.api_key})
    left = [r.headers.get("X-RateLimit-Remaining") for r in (first, second)]
    if None in left or int(left[0] or 0) - int(left[1] or 0) != 1:
        return [f"a real key's budget moved with bogus keys of its prefix: {left}"]
    return []


# --- the exchange ---------------------------------------------------------------------------------


class OneC:
    """1C's side: Basic on checkauth, then the cookie."""

    def __init__(self, t: Target, type_: str = "catalog") -> None:
        self.t, self.type = t, type_
        self.cookie: str | None = None

    def call(self, mode: str, body: bytes | None = None, **params: str) -> list[str]:
        headers = {}
        if self.cookie and mode != "checkauth":
            headers["Cookie"] = f"onec_sync_exchange={self.cookie}"
        query = {"type": self.type, "mode": mode, **params}
        auth = (self.t.onec_login, self.t.onec_password) if mode == "checkauth" else None
        response = httpx.request(
            "POST" if body is not None else "GET", self.t.exchange, params=query,
            content=body, headers=headers, auth=auth, timeout=60,
        )  # fmt: skip
        charset = response.charset_encoding or "windows-1251"
        lines = response.content.decode(charset, errors="replace").rstrip("\n").split("\n")
        self.t.replies.extend(lines)
        return lines

    def start(self) -> OneC:
        lines = self.call("checkauth")
        if lines[0] != "success":
            raise RuntimeError(f"1C cannot log in: {lines}")
        self.cookie = lines[2]
        self.call("init")
        return self

    def until_done(self, name: str) -> list[str]:
        deadline = time.monotonic() + 60
        while True:
            lines = self.call("import", filename=name)
            if lines[0] != "progress" or time.monotonic() > deadline:
                return lines


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def traversal(t: Target) -> list[str]:
    """Hostile names fail; the session that saw one takes no further request."""
    found = []
    for name in (
        "../../evil.xml",
        "/etc/cron.d/evil",
        "C:\\Windows\\evil.xml",
        "x/evil.php",
        "я" * 300,
    ):
        one_c = OneC(t).start()
        reply = one_c.call("file", body=b"<x/>", filename=name)
        if reply[0] != "failure":
            found.append(f"filename {name[:40]!r} accepted: {reply}")
        after = one_c.call("file", body=CATALOG.encode(), filename="import.xml")
        if after[0] != "failure":
            found.append(f"the session failed on {name[:40]!r} still uploads: {after}")
    return found


def zip_slip_and_bomb(t: Target) -> list[str]:
    found = []
    archives = {
        "slip": _zip({"../../slip.txt": b"slip", "import.xml": CATALOG.encode()}),
        "bomb": _zip({"import.xml": CATALOG.encode(), "import_files/a.jpg": b"\0" * 30_000_000}),
    }
    for label, data in archives.items():
        one_c = OneC(t).start()
        one_c.call("file", body=data, filename=f"{label}.zip")
        reply = one_c.until_done("import.xml")
        if reply[0] != "failure":
            found.append(f"zip {label} imported: {reply}")
    return found


def xxe(t: Target) -> list[str]:
    one_c = OneC(t).start()
    one_c.call("file", body=XXE.encode(), filename="import.xml")
    reply = one_c.until_done("import.xml")
    leaked = "root:" in "\n".join(reply)
    if reply[0] != "failure" or leaked:
        return [f"XXE: {reply}"]
    return []


def wrong_kind(t: Target) -> list[str]:
    one_c = OneC(t, "sale").start()
    reply = one_c.call("file", body=CATALOG.encode(), filename="import.xml")
    return [] if reply[0] == "failure" else [f"a catalog with type=sale: {reply}"]


def lockout(t: Target) -> list[str]:
    """Guessing logins does not lock out 1C's login from the same address."""
    for n in range(15):
        httpx.get(t.exchange, params={"type": "catalog", "mode": "checkauth"},
                  auth=(f"admin{n}", "guess"), timeout=30)  # fmt: skip
    try:
        OneC(t).start()
    except RuntimeError as exc:
        return [f"1C locked out by guesses at other logins: {exc}"]
    return []


def exchange_port(t: Target) -> list[str]:
    base = t.exchange.rsplit("/", 1)[0]
    found = []
    for path in ("/metrics", "/ready", "/status", "/1c_exchange/../metrics", "/x"):
        response = httpx.get(base + path, timeout=30)
        if response.status_code != 404:
            found.append(f"the exchange port answers {path} with {response.status_code}")
    if httpx.get(base + "/health", timeout=30).status_code != 200:
        found.append("the exchange port has no bare /health")
    return found


def server_paths(t: Target) -> list[str]:
    """Run last: no exchange reply seen named a server path."""
    return [
        f"a reply names a server path: {r!r}" for r in t.replies if "/tmp/" in r or "/var/" in r
    ]


ATTACKS: tuple[Attack, ...] = (
    forged_tokens,
    sql_injection,
    hostile_cors,
    idempotency_race,
    sessions,
    foreign_budget,
    lockout,
    traversal,
    zip_slip_and_bomb,
    xxe,
    wrong_kind,
    exchange_port,
    server_paths,
)


def run_attacks(target: Target) -> dict[str, list[str]]:
    """Every attack's findings by name (only those that found something)."""
    findings = {attack.__name__: _run(attack, target) for attack in ATTACKS}
    return {name: found for name, found in findings.items() if found}


def _run(attack: Attack, target: Target) -> list[str]:
    """An attack's findings; one that could not even run (1C locked out, a server gone) is one."""
    try:
        return attack(target)
    except (RuntimeError, httpx.HTTPError, ValueError, KeyError) as exc:
        return [f"could not run: {exc!r}"[:300]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("api", "exchange", "api-key", "user", "password", "onec-login", "onec-password"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    findings = run_attacks(Target(**vars(args)))
    for name, found in findings.items():
        for line in found:
            print(f"{name}: {line}")
    print("all refused" if not findings else f"{len(findings)} attack(s) got through")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
