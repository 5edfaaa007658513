"""An example ems rule plug-in (see docs/api/writing-rules.md)."""
