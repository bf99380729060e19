"""Voicelane control plane package."""
