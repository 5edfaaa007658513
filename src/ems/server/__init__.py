"""The language server face (``ems serve``): LSP over stdio on top of ems.core and ems.fixes.

``ems.server.features.create_server()`` builds a server (it loads the rules); nothing is
built at import time.
"""
