"""Running ems over a project: recovery, health, sampling (see docs/architecture.md)."""
