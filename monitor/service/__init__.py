"""Running as a service: single-instance lock, logs, health checks and metrics."""
