"""Bringing another tool's history into shipway (``shipway import …``)."""
