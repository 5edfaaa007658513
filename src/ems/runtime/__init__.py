"""Running ems over a project, and the services the faces call about it: the project root
(and paths confined to it), discovery, scans and the pool policy, the guard, the event bus,
the live watcher, monitoring (sampler, health checks, recovery), the A–E rating and the
control panel's config edits."""
