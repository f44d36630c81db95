"""Offers, requests and pairs of the matching, kept in Redis between runs.

Keys::

    dc:match:offers    hash  offer_id   -> JSON of ``matching.Offer``
    dc:match:requests  hash  request_id -> JSON of ``matching.Request``
    dc:match:pairs     set   JSON ``[lead_school, partner_school]``

Why here and not in ``matching``: that package is pure and file-based by design;
this is the hub's storage of its inputs. The pydantic ``OfferIn`` / ``RequestIn``
validate API bodies with the same rules as the CSV reader (and normalise the same
way: subject and slots lower-cased) and convert to the matching dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.keys import OFFERS_KEY, PAIRS_KEY, REQUESTS_KEY
from hub.store import translate_redis_errors
from matching.csvio import MAX_KBPS, SLOT_RE
from matching.exceptions import InstanceError
from matching.models import Instance, Offer, Pair, Request

__all__ = ["InputStore", "OfferIn", "PairIn", "RequestIn", "instance_from_json", "instance_to_json"]


_Text = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]  # not blank
_Kbps = Annotated[int, Field(ge=1, le=MAX_KBPS)]


def _slot(value: str) -> str:
    value = value.strip().lower()
    if not SLOT_RE.match(value):
        raise ValueError(f"slot must look like mon-09:00 (mon..sun-HH:MM), got {value!r}")
    return value


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class OfferIn(_In):
    offer_id: _Text
    lead_school: _Text
    lead_classroom: _Text
    teacher: _Text
    subject: _Text
    grade: Annotated[int, Field(ge=1, le=12)]
    slot: str
    capacity: Annotated[int, Field(ge=1, le=1000)]
    bitrate_kbps: _Kbps

    _norm_slot = field_validator("slot")(_slot)

    @field_validator("subject")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def to_offer(self) -> Offer:
        return Offer(**self.model_dump())

    @classmethod
    def of(cls, offer: Offer) -> OfferIn:
        return cls(**dataclasses.asdict(offer))


class RequestIn(_In):
    request_id: _Text
    partner_school: _Text
    partner_classroom: _Text
    subject: _Text
    grade: Annotated[int, Field(ge=1, le=12)]
    slots: Annotated[list[str], Field(min_length=1, max_length=64)]
    downlink_kbps: _Kbps
    priority: Annotated[int, Field(ge=1, le=5)]

    @field_validator("slots")
    @classmethod
    def _norm_slots(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(_slot(v) for v in values))

    @field_validator("subject")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def to_request(self) -> Request:
        return Request(**{**self.model_dump(), "slots": tuple(self.slots)})

    @classmethod
    def of(cls, request: Request) -> RequestIn:
        return cls(**{**dataclasses.asdict(request), "slots": list(request.slots)})


class PairIn(_In):
    lead_school: _Text
    partner_school: _Text


def instance_to_json(instance: Instance) -> str:
    """The whole instance as JSON (stored with a run, so accepting it later uses the
    inputs as they were when it ran, whatever changed since)."""
    return json.dumps(
        {
            "offers": [dataclasses.asdict(o) for o in instance.offers],
            "requests": [RequestIn.of(r).model_dump() for r in instance.requests],
            "pairs": sorted([p.lead_school, p.partner_school] for p in instance.pairs),
        },
        ensure_ascii=False,
    )


def instance_from_json(text: str) -> Instance:
    data: dict[str, Any] = json.loads(text)
    return Instance.build(
        (Offer(**o) for o in data["offers"]),
        (Request(**{**r, "slots": tuple(r["slots"])}) for r in data["requests"]),
        (Pair(lead, partner) for lead, partner in data["pairs"]),
    )


class InputStore:
    """CRUD of offers and requests, the set of pairs, and the ``Instance`` of them all."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r: Any = client

    async def offers(self) -> list[Offer]:
        with translate_redis_errors():
            raw = await self._r.hgetall(OFFERS_KEY)
        return sorted(
            (OfferIn.model_validate_json(v).to_offer() for v in raw.values()),
            key=lambda o: o.offer_id,
        )

    async def requests(self) -> list[Request]:
        with translate_redis_errors():
            raw = await self._r.hgetall(REQUESTS_KEY)
        return sorted(
            (RequestIn.model_validate_json(v).to_request() for v in raw.values()),
            key=lambda r: r.request_id,
        )

    async def pairs(self) -> list[Pair]:
        with translate_redis_errors():
            raw = await self._r.smembers(PAIRS_KEY)
        return sorted(
            (Pair(*json.loads(m)) for m in raw), key=lambda p: (p.lead_school, p.partner_school)
        )

    async def instance(self) -> Instance:
        """Everything stored, as one validated ``Instance`` (``InstanceError`` if not)."""
        return Instance.build(await self.offers(), await self.requests(), await self.pairs())

    async def get_offer(self, offer_id: str) -> Offer | None:
        with translate_redis_errors():
            raw = await self._r.hget(OFFERS_KEY, offer_id)
        return None if raw is None else OfferIn.model_validate_json(raw).to_offer()

    async def get_request(self, request_id: str) -> Request | None:
        with translate_redis_errors():
            raw = await self._r.hget(REQUESTS_KEY, request_id)
        return None if raw is None else RequestIn.model_validate_json(raw).to_request()

    async def add_offer(self, offer: Offer) -> bool:
        """False if the id exists. ``InstanceError`` if it double-books a lead classroom."""
        for other in await self.offers():
            if other.lead_key == offer.lead_key and other.slot == offer.slot:
                if other.offer_id != offer.offer_id:
                    raise InstanceError(
                        f"double-booked lead classroom {offer.lead_school}/"
                        f"{offer.lead_classroom} at {offer.slot}: also offer {other.offer_id!r}"
                    )
        with translate_redis_errors():
            return bool(
                await self._r.hsetnx(
                    OFFERS_KEY, offer.offer_id, OfferIn.of(offer).model_dump_json()
                )
            )

    async def add_request(self, request: Request) -> bool:
        with translate_redis_errors():
            return bool(
                await self._r.hsetnx(
                    REQUESTS_KEY, request.request_id, RequestIn.of(request).model_dump_json()
                )
            )

    async def add_pair(self, pair: Pair) -> None:
        with translate_redis_errors():
            await self._r.sadd(PAIRS_KEY, json.dumps([pair.lead_school, pair.partner_school]))

    async def delete(self, what: str, ident: str) -> bool:
        key = {"offers": OFFERS_KEY, "requests": REQUESTS_KEY}[what]
        with translate_redis_errors():
            return bool(await self._r.hdel(key, ident))

    async def delete_pair(self, pair: Pair) -> bool:
        with translate_redis_errors():
            return bool(
                await self._r.srem(PAIRS_KEY, json.dumps([pair.lead_school, pair.partner_school]))
            )

    async def replace_all(
        self,
        offers: list[Offer] | None = None,
        requests: list[Request] | None = None,
        pairs: list[Pair] | None = None,
    ) -> None:
        """Replace whole collections at once (CSV upload); ``None`` leaves one alone."""
        with translate_redis_errors():
            async with self._r.pipeline(transaction=True) as pipe:
                if offers is not None:
                    pipe.delete(OFFERS_KEY)
                    if offers:
                        pipe.hset(
                            OFFERS_KEY,
                            mapping={o.offer_id: OfferIn.of(o).model_dump_json() for o in offers},
                        )
                if requests is not None:
                    pipe.delete(REQUESTS_KEY)
                    if requests:
                        pipe.hset(
                            REQUESTS_KEY,
                            mapping={
                                r.request_id: RequestIn.of(r).model_dump_json() for r in requests
                            },
                        )
                if pairs is not None:
                    pipe.delete(PAIRS_KEY)
                    if pairs:
                        pipe.sadd(
                            PAIRS_KEY,
                            *(json.dumps([p.lead_school, p.partner_school]) for p in pairs),
                        )
                await pipe.execute()
