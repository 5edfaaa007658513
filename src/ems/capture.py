"""Record a program's uncaught and logged exceptions in the ems store.

    import ems.capture
    ems.capture.install()

For programs not started with ``ems run`` (servers, workers, notebooks). The implementation
lives in ``ems.testing.capture``.
"""

from ems.testing.capture import Capture, install

__all__ = ["Capture", "install"]
