"""Turning media into files, numbers and mixes: the program audio mix; recorder, clips later."""
