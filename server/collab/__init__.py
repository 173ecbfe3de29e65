"""Live collaboration: the WebSocket endpoint of the PPA documents, on :mod:`editor.collab`.

``endpoint`` (route), ``service`` (authorisation, audit, the room manager in the app lifespan,
the ``LiveRooms`` seam and the live ``DocumentSource``), ``channel`` (one WebSocket as the room
sees it), ``store`` (the SQL update log), ``policy`` (own-fields writes), ``fanout`` (Redis),
``rights`` (rights follow the cercle), ``notices`` (the codes of what a connection is told).
See ``docs/collaboration.md``.
"""
