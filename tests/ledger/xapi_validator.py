"""A validator of xAPI 1.0.3 statements, written from the specification's rules
(https://github.com/adlnet/xAPI-Spec/blob/master/xAPI-Data.md, section 2.4), for the
shapes our exporter uses and the rules every statement must keep. Returns a list of
problems; empty means valid."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# RFC 3987 IRI: scheme ":" then no spaces / control chars; we also require an authority
# or a urn for absolute IRIs (xAPI requires absolute IRIs for ids).
IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
IRL_RE = re.compile(r"^https?://[^\s/$.?#].[^\s]*$")
# ISO 8601 duration as xAPI uses it (weeks alone, or date/time parts).
DURATION_RE = re.compile(
    r"^P(?:\d+W|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)$"
)
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
LANG_RE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def _lang_map(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict) or not value:
        return [f"{where}: not a language map"]
    return [
        f"{where}: bad language tag {k!r}"
        for k, v in value.items()
        if not LANG_RE.match(k) or not isinstance(v, str)
    ]


def _agent(actor: Any, where: str) -> list[str]:
    if not isinstance(actor, dict):
        return [f"{where}: not an object"]
    out = []
    if actor.get("objectType", "Agent") != "Agent":
        out.append(f"{where}: objectType must be Agent")
    ifis = [k for k in IFIS if k in actor]
    if len(ifis) != 1:
        out.append(f"{where}: needs exactly one inverse functional identifier, has {ifis}")
    account = actor.get("account")
    if account is not None:
        if set(account) != {"homePage", "name"}:
            out.append(f"{where}.account: needs exactly homePage and name")
        elif not IRL_RE.match(str(account["homePage"])):
            out.append(f"{where}.account.homePage: not an IRL")
        elif not isinstance(account["name"], str) or not account["name"]:
            out.append(f"{where}.account.name: empty")
    if "name" in actor and not isinstance(actor["name"], str):
        out.append(f"{where}.name: not a string")
    extra = set(actor) - {"objectType", "name", *IFIS}
    if extra:
        out.append(f"{where}: unknown properties {sorted(extra)}")
    return out


def _activity(obj: Any, where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: not an object"]
    out = []
    if obj.get("objectType", "Activity") != "Activity":
        out.append(f"{where}: objectType must be Activity")
    if not IRI_RE.match(str(obj.get("id", ""))):
        out.append(f"{where}.id: not an IRI")
    definition = obj.get("definition")
    if definition is not None:
        for key in ("name", "description"):
            if key in definition:
                out += _lang_map(definition[key], f"{where}.definition.{key}")
        if "type" in definition and not IRI_RE.match(str(definition["type"])):
            out.append(f"{where}.definition.type: not an IRI")
        kinds = {
            "true-false",
            "choice",
            "fill-in",
            "long-fill-in",
            "matching",
            "performance",
            "sequencing",
            "likert",
            "numeric",
            "other",
        }
        if "interactionType" in definition and definition["interactionType"] not in kinds:
            out.append(f"{where}.definition.interactionType: unknown")
    return out


def validate_statement(s: Any) -> list[str]:
    if not isinstance(s, dict):
        return ["statement: not an object"]
    out = []
    extra = set(s) - STATEMENT_KEYS
    if extra:
        out.append(f"statement: unknown properties {sorted(extra)}")
    for key in ("actor", "verb", "object"):
        if key not in s:
            out.append(f"statement: missing {key}")
    if "id" in s and not UUID_RE.match(str(s["id"])):
        out.append("id: not a UUID")
    if "actor" in s:
        out += _agent(s["actor"], "actor")
    verb = s.get("verb")
    if verb is not None:
        if not isinstance(verb, dict) or not IRI_RE.match(str(verb.get("id", ""))):
            out.append("verb.id: not an IRI")
        elif "display" in verb:
            out += _lang_map(verb["display"], "verb.display")
    if "object" in s:
        out += _activity(s["object"], "object")
    result = s.get("result")
    if result is not None:
        if "duration" in result and not DURATION_RE.match(str(result["duration"])):
            out.append(f"result.duration: not an ISO 8601 duration: {result['duration']!r}")
        for key in ("success", "completion"):
            if key in result and not isinstance(result[key], bool):
                out.append(f"result.{key}: not a boolean")
        if "response" in result and not isinstance(result["response"], str):
            out.append("result.response: not a string")
    context = s.get("context")
    if context is not None:
        if "registration" in context and not UUID_RE.match(str(context["registration"])):
            out.append("context.registration: not a UUID")
        for kind, acts in context.get("contextActivities", {}).items():
            if kind not in ("parent", "grouping", "category", "other"):
                out.append(f"context.contextActivities.{kind}: unknown")
            for i, act in enumerate(acts if isinstance(acts, list) else [acts]):
                out += _activity(act, f"context.contextActivities.{kind}[{i}]")
    if "timestamp" in s:
        ts = str(s["timestamp"])
        if not TIMESTAMP_RE.match(ts):
            out.append(f"timestamp: not ISO 8601 with a timezone: {ts!r}")
        else:
            try:
                datetime.fromisoformat(ts)
            except ValueError:
                out.append(f"timestamp: not a real instant: {ts!r}")
    if "version" in s and not re.match(r"^1\.0\.\d+$", str(s["version"])):
        out.append("version: not 1.0.x")
    return out
