"""Lesson decks: uploaded slides rendered once to page images, stored by content.

``exceptions`` (one root, a machine ``code`` per refusal), ``models`` (the deck
manifest and the reference ``cmd.join`` carries, pure), ``render`` (the bounded
subprocess that turns a PDF into page images, and its worker entry point),
``convert`` (PowerPoint/ODP to PDF through LibreOffice when it is installed),
``store`` (page files on disk by hash, manifests and session attachments in Redis).

May import: protocols, hub.exceptions; pypdfium2 and pillow only inside the worker.
"""
