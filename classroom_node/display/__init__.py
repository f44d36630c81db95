"""The classroom display: the full-screen page the classroom's big screen shows.

``model`` (pure: what the screen shows, folded from applied events), ``service``
(the node-side hub of display clients: builds the view, pushes it over WebSocket
on every applied event), ``routes`` (the page, its script, page images from the
deck cache, ``/display/state`` and ``/display/ws`` on the node's local API).
Everything is served from the node itself, so the screen keeps working while the
hub link is down. May import: protocols, classroom_node.
"""
