"""The meeting as a pure state machine: who is here, what they may do, what happened."""
