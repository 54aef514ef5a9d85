"""Turning media into files and numbers: recorder, clips, minutes. Empty until those land."""
