"""Put first on PYTHONPATH by ``ems run``: installs ems's capture in the program's Python.

Then imports the program's own ``sitecustomize`` (if any), which this file shadows.
"""

import importlib
import sys

try:
    from ems.testing.capture import install
except ImportError:  # this Python cannot import ems: the program runs uncaptured
    pass
else:
    install()

_here = __file__.rsplit("/", 1)[0]
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if p.rstrip("/") != _here.rstrip("/")]
sys.modules.pop("sitecustomize", None)
try:
    importlib.import_module("sitecustomize")
except ImportError:
    pass
finally:
    sys.path[:] = _saved
