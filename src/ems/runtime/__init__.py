"""Running the core over a project: project scans, the live watcher, monitoring (sampler,
health checks, recovery)."""
