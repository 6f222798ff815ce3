"""Registered models, versions, aliases and their history, lineage and model cards."""
