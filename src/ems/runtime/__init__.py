"""Running ems over a project: project scans, the live watcher, the project root, the event bus."""
