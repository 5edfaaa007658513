"""ems — an error management system for Python code.

The package root stays import-light: ``ems --version`` must not pull in libcst,
Streamlit or GitPython.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
