"""The generic y-websocket collaboration engine (protocol, room, room manager); no PPA model."""
