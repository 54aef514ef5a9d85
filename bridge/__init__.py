"""Media forwarding: peers, producers, consumers, keyframes. Knows nothing of meetings."""
