"""Slide decks at the classroom: download ahead of the lesson, keep on disk.

``cache`` (the on-disk layout, pure file operations), ``fetcher`` (HTTP downloads
from the hub with the node's own credentials: hash check, resume with ``Range``),
``sync`` (the background task that keeps every joined session's decks complete and
reports readiness). May import: protocols, classroom_node.config; httpx.
"""
