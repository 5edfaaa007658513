"""Git awareness: one Repo per repository, history walks, blame, churn and new-code filters.

GitPython is imported by these modules, so import them only inside a command's ``run``.
"""
