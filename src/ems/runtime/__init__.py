"""Running ems over a project: the project root, discovery, scans and the pool policy, the
guard, the event bus, the live watcher, monitoring (sampler, health checks, recovery)."""
