"""Sensors: new uploads, and the 10-second sweep of pending enrichment."""
