"""Running the core over a project: project scans, the live watcher."""
