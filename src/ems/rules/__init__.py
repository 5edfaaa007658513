"""Built-in rules: one module per rule, discovered by ``ems.core.registry``.

Module names are ``<code>_<name>.py`` in lower case (e.g. ``f541_fstring_missing_placeholders.py``).
"""
