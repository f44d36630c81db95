"""Message catalogues of every browser page: Simplified Chinese and English.

``zh-CN.json`` and ``en.json`` (flat ``key -> text`` maps with ``{name}``
placeholders) are the one place words live; ``i18n.js`` is the browser side (the
hub serves both under ``/i18n/``), ``catalogue`` the Python side for pages the hub
renders itself. Pure: imports nothing of the project.
"""

from i18n.catalogue import (
    DEFAULT_LANG,
    LANGS,
    Messages,
    catalogue,
    messages,
    negotiate,
    static_file,
)

__all__ = ["DEFAULT_LANG", "LANGS", "Messages", "catalogue", "messages", "negotiate", "static_file"]
