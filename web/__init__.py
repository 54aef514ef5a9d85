"""HTTP, WebSocket, WHIP/WHEP and pages: the only edge of the bridge."""
