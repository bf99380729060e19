"""One media node process: wiring, the internal command API, fleet signals, the control plane."""
