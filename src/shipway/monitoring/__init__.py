"""Monitoring: feedback, profiles, drift, live quality, alert rules and their actions.
See ``docs/monitoring.md``."""

from shipway.monitoring.service import MonitoringService

__all__ = ["MonitoringService"]
