"""The exceptions of ``hub.decks``: one root, a machine-readable ``code`` each.

::

    DeckError
    ├── DeckRefused          the upload itself is unusable (answered 413/415/422)
    │   ├── DeckTooLarge        more bytes than the upload limit
    │   ├── NotAPdf             not a PDF (and not a presentation we can convert)
    │   ├── EncryptedDeck       needs a password
    │   ├── TooManyPages        more pages than the page limit
    │   ├── RenderLimit         rendering ran out of time or memory (decompression bomb)
    │   └── ConverterMissing    a presentation upload without LibreOffice installed
    └── UnknownDeck          no such deck (or not attached to that session)

Each refusal is counted by ``code`` in ``dualclass_hub_deck_refused_total``.
"""

from __future__ import annotations

__all__ = [
    "ConverterMissing",
    "DeckError",
    "DeckRefused",
    "DeckTooLarge",
    "EncryptedDeck",
    "NotAPdf",
    "RenderLimit",
    "TooManyPages",
    "UnknownDeck",
]


class DeckError(Exception):
    """Root of the deck errors."""

    code = "deck_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class DeckRefused(DeckError):
    """An upload the hub will not store; ``status`` is the HTTP answer."""

    code = "deck_refused"
    status = 422


class DeckTooLarge(DeckRefused):
    code = "too_large"
    status = 413


class NotAPdf(DeckRefused):
    code = "not_a_pdf"
    status = 415


class EncryptedDeck(DeckRefused):
    code = "encrypted"


class TooManyPages(DeckRefused):
    code = "too_many_pages"


class RenderLimit(DeckRefused):
    code = "render_limit"


class ConverterMissing(DeckRefused):
    code = "converter_missing"
    status = 415


class UnknownDeck(DeckError):
    code = "unknown_deck"
