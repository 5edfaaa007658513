"""The analysis core: knows nothing of LSP, Streamlit or terminals.

Public API: ``analyse``, ``Finding``, ``Report``, ``Config``, ``load_rules``.
"""

from ems.core.analyse import analyse
from ems.core.config import Config, ConfigError, ConfigResolver
from ems.core.model import Finding, Fix, Position, Range, Report, Safety, Severity, Tag, TextEdit
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import Invalid, Rule, Valid

__all__ = [
    "Config",
    "ConfigError",
    "ConfigResolver",
    "Finding",
    "Fix",
    "Invalid",
    "Position",
    "Range",
    "Report",
    "Rule",
    "RuleSet",
    "Safety",
    "Severity",
    "Tag",
    "TextEdit",
    "Valid",
    "analyse",
    "load_rules",
]
