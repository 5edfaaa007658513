"""The language server face (``ems serve``): LSP over stdio on top of ems.core and ems.fixes.

Import ``ems.server.app`` only when serving: it builds the pygls server and loads the rules.
"""
