"""Read TOML + environment into ``Settings``, collecting every problem before failing."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from config import settings as settings_module
from config.errors import ConfigError
from config.secret import Secret
from config.settings import Settings

ENV_PREFIX = "ONEC_SYNC_"
CONFIG_ENV = "ONEC_SYNC_CONFIG"
_CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    tolerate: Collection[str] = (),
) -> Settings:
    """Settings from ``path`` (else ``$ONEC_SYNC_CONFIG``, else defaults) and the environment.

    Raises ``ConfigError`` listing every problem: unreadable or invalid TOML, unknown tables or
    keys, values of the wrong type, secrets written into the file, inconsistent values.
    Problems inside the tables named in ``tolerate`` (e.g. ``"exchange"`` for a command that
    does not serve it) do not raise: those sections are built from what could be read.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    tables: list[str] = []
    chosen = path if path is not None else env.get(CONFIG_ENV) or None
    source = Path(chosen) if chosen else None
    document = _read_toml(source, problems) if source else {}
    sections: dict[str, Any] = {}
    for fld in dataclasses.fields(Settings):
        if fld.name == "source":
            continue
        table_name = fld.name.rstrip("_")
        table = document.pop(table_name, {})
        if not isinstance(table, dict):
            problems.append(f"[{table_name}]: must be a table")
            table = {}
        section_cls = _hints(Settings)[fld.name]
        tables.extend([""] * (len(problems) - len(tables)))
        sections[fld.name] = _build_section(section_cls, table_name, table, env, problems)
        tables.extend([table_name] * (len(problems) - len(tables)))
    for unknown in document:
        problems.append(f"[{unknown}]: unknown table (see config/onec-sync.example.toml)")
    tables.extend([""] * (len(problems) - len(tables)))
    if any(table not in tolerate for table in tables):
        raise ConfigError(problems, tables)
    return Settings(**sections, source=source)


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: configuration file not found")
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: invalid TOML: {exc}")
    return _salvage_tables(text)


def _salvage_tables(text: str) -> dict[str, Any]:
    """The tables of a broken file that parse on their own, so their problems are reported too.

    Only used to report more problems at once: a file with a syntax error never loads.
    """
    chunks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            chunks.append([])
        chunks[-1].append(line)
    document: dict[str, Any] = {}
    for chunk in chunks:
        try:
            parsed = tomllib.loads("\n".join(chunk))
        except tomllib.TOMLDecodeError:
            continue
        for key, value in parsed.items():
            if isinstance(value, dict) and isinstance(document.get(key), dict):
                document[key].update(value)
            else:
                document.setdefault(key, value)
    return document


def _build_section(
    cls: type[Any], name: str, table: dict[str, Any], env: Mapping[str, str], problems: list[str]
) -> Any:
    values: dict[str, Any] = {}
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            problems.append(f"{name}.{key}: unknown key")
    for fld in dataclasses.fields(cls):
        key, hint = fld.name, hints[fld.name]
        env_name = f"{ENV_PREFIX}{name}_{key}".upper()
        if hint is Secret:
            if key in table:
                problems.append(
                    f"{name}.{key}: secrets are not read from the file; set {env_name}, "
                    f"{env_name}_FILE or a systemd credential named {name}_{key}"
                )
            secret = _read_secret(env_name, f"{name}_{key}", env, problems)
            if secret is not None:
                values[key] = Secret(secret)
            continue
        if env_name in env:
            raw: Any = env[env_name]
            where = env_name
        elif key in table:
            raw, where = table[key], f"{name}.{key}"
        else:
            continue
        try:
            values[key] = _coerce(raw, hint, from_env=where == env_name)
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    try:
        built = cls(**values)
    except (TypeError, ValueError) as exc:  # pragma: no cover - defaults always construct
        problems.append(f"[{name}]: {exc}")
        return cls()
    check = getattr(built, "problems", None)
    if check is not None:
        problems.extend(check())
    return built


def _read_secret(
    env_name: str, credential: str, env: Mapping[str, str], problems: list[str]
) -> str | None:
    if env_name in env:
        return env[env_name]
    file_name = env.get(f"{env_name}_FILE")
    if not file_name and env.get(_CREDENTIALS_ENV):
        candidate = Path(env[_CREDENTIALS_ENV]) / credential
        file_name = str(candidate) if candidate.exists() else None
    if not file_name:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        problems.append(f"{env_name}_FILE: cannot read {file_name}: {exc.strerror}")
        return None


def _coerce(raw: Any, hint: Any, *, from_env: bool) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw in ("", None):
            return None
        return _coerce(raw, options[0], from_env=from_env)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(map(repr, allowed))}, not {raw!r}")
        return raw
    if origin is tuple:
        items = raw.split(",") if from_env and isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise TypeError("must be a list")
        return tuple(
            str(_coerce(i, str, from_env=from_env)).strip() for i in items if str(i).strip()
        )
    if origin is dict:
        if not isinstance(raw, dict):
            raise TypeError("must be a table of strings")
        return {str(k): str(v) for k, v in raw.items()}
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if from_env and str(raw).lower() in _TRUE | _FALSE:
            return str(raw).lower() in _TRUE
        raise TypeError(f"must be true or false, not {raw!r}")
    if hint in (int, float):
        return _number(raw, hint, from_env=from_env)
    if hint is Path:
        if not isinstance(raw, str):
            raise TypeError("must be a path string")
        return Path(raw).expanduser()
    if hint is str:
        if not isinstance(raw, str):
            raise TypeError(f"must be a string, not {raw!r}")
        return raw
    raise TypeError(f"unsupported setting type {hint!r}")  # pragma: no cover


def _number(raw: Any, hint: type[int] | type[float], *, from_env: bool) -> int | float:
    kind = "a whole number" if hint is int else "a number"
    accepted = (str,) if from_env else (int,) if hint is int else (int, float)
    if isinstance(raw, bool) or not isinstance(raw, accepted):
        raise TypeError(f"must be {kind}, not {raw!r}")
    try:
        return hint(raw)
    except ValueError:
        raise ValueError(f"must be {kind}, not {raw!r}") from None


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(settings_module))
