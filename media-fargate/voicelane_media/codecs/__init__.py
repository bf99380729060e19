"""Audio codecs in numpy (G.711) and resampling."""
