"""The terminal face: ``ems check``, ``ems fix``, ``ems serve`` and friends."""
