"""Finding rules: the built-in ones (one module each under ``ems.rules``) and plug-ins.

Third-party packages register rules under the ``ems.rules`` entry-point group; an entry
point may name a ``Rule`` subclass or a module holding several.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ems import __version__
from ems.core.plugins import EntryPoint, entry_points

if TYPE_CHECKING:
    from ems.core.rule import Rule

ENTRY_POINT_GROUP = "ems.rules"


class RegistryError(RuntimeError):
    pass


class RuleSet:
    """All known rules by code, and where each came from.

    ``lazy_rules`` gives one whose rules are imported on first use of ``rules`` (or of
    anything derived from them), while its ``fingerprint`` (what caches key on) is known
    without them: a warm ``ems check`` that prints cached results imports no rule, and
    importing them and the analysis engine was a sixth of such a run.
    """

    def __init__(
        self,
        rules: Iterable[type[Rule]] = (),
        origins: Iterable[tuple[str, str]] = (),  # (code, "builtin" | distribution name)
        versions: Iterable[tuple[str, str]] = (),  # (distribution name, version) of plug-ins
        *,
        identity: str | None = None,
        loader: Callable[[], tuple[tuple, tuple, tuple]] | None = None,
        codes: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        self._rules = tuple(rules)
        self._origins = tuple(origins)
        self._versions = tuple(versions)
        self._identity = identity  # set by lazy_rules: the engine and the plug-in entry points
        self._loader = loader  # (rules, origins, versions) on first use; None once loaded
        self._codes = codes  # the codes without importing the rules (built-ins only)
        self._index: dict[str, type[Rule]] | None = None
        self._fingerprint: str | None = None
        # ``ems.core.analyse``'s rule selections by configuration, computed once each.
        self.selections: dict[object, Any] = {}

    def _load(self) -> None:
        if self._loader is not None:
            self._rules, self._origins, self._versions = self._loader()  # may raise RegistryError
            self._loader = None

    @property
    def rules(self) -> tuple[type[Rule], ...]:
        self._load()
        return self._rules

    @property
    def origins(self) -> tuple[tuple[str, str], ...]:
        self._load()
        return self._origins

    @property
    def versions(self) -> tuple[tuple[str, str], ...]:
        self._load()
        return self._versions

    def by_code(self) -> dict[str, type[Rule]]:
        return dict(self._by_code())

    def _by_code(self) -> dict[str, type[Rule]]:
        if self._index is None:
            self._index = {rule.code: rule for rule in self.rules}
        return self._index

    def get(self, code: str) -> type[Rule] | None:
        index = self._by_code()
        return index.get(code) or index.get(code.upper())

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code, sorted. Validating ``--select`` needs them, and importing every rule
        for that was most of a warm ``ems check --select ...``: with no plug-ins they come
        from the rule modules' file names (``<code>_<name>.py``) until the rules are loaded."""
        if self._loader is not None and self._codes is not None:
            return self._codes()
        return tuple(rule.code for rule in self.rules)

    def origin(self, code: str) -> str:
        return dict(self.origins).get(code, "builtin")

    @property
    def fingerprint(self) -> str:
        """What every cached result depends on besides the file and the config.

        From ``load_rules``/``lazy_rules``: the engine (``engine_digest``) and each plug-in
        entry point with its distribution's version, which together decide every rule's
        code, origin and implementation. For a rule set built by hand: the engine, each rule's code
        and origin, and each plug-in's version. One definition for the result cache
        (``ems check``) and the history store.
        """
        if self._fingerprint is None:
            if self._identity is not None:
                text = self._identity
            else:
                versions = dict(self.versions)
                parts = [engine_digest()]
                for code, origin in self.origins:
                    if origin != "builtin":
                        known = versions.get(origin) or _distribution_version(origin)
                        if known:
                            origin = f"{origin}=={known}"
                    parts.append(f"{code}:{origin}")
                text = "\n".join(parts)
            self._fingerprint = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        state = "not loaded" if self._loader is not None else f"{len(self._rules)} rules"
        return f"<RuleSet {state}>"


@lru_cache(maxsize=1)
def engine_digest() -> str:
    """ems's version and the source of its core and built-in rules.

    Why the source: in a checkout (or an editable install) the version stays the same
    while rules change, and results cached under an edited rule must not be trusted.
    Reading the ~75 files costs about 2 ms per run.
    """
    import ems.core
    import ems.rules

    core, rules = (os.path.dirname(package.__file__ or ".") for package in (ems.core, ems.rules))
    folders = [core, os.path.join(core, "incremental"), rules]
    return __version__ + ":" + source_digest(folders)


def source_digest(folders: Iterable[str]) -> str:
    """A hash of the names and bytes of the ``.py`` files directly in ``folders``."""
    digest = hashlib.blake2b(digest_size=16)
    for folder in folders:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.endswith(".py") and entry.is_file():
                digest.update(entry.name.encode() + b"\0")
                with open(entry.path, "rb") as handle:
                    digest.update(handle.read())
                digest.update(b"\0")
    return digest.hexdigest()


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def _rules_in_module(module: ModuleType) -> list[type[Rule]]:
    """The module's own ``Rule`` subclasses with a code, in name order.

    Every ``ems`` run asks this of ~50 rule modules; ``inspect.getmembers`` (``dir``, a
    ``getattr`` and a sort per module) was a visible part of a warm run's start-up.
    """
    from ems.core.rule import Rule

    found = []
    for _, obj in sorted(vars(module).items()):
        own = isinstance(obj, type) and obj.__module__ == module.__name__
        if own and issubclass(obj, Rule) and obj is not Rule and getattr(obj, "code", None):
            found.append(obj)
    return found


def builtin_rules() -> list[type[Rule]]:
    import pkgutil

    import ems.rules as package

    rules: list[type[Rule]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        rules.extend(_rules_in_module(importlib.import_module(f"ems.rules.{info.name}")))
    return rules


def _plugin_rules(plugins: Iterable[EntryPoint]) -> list[tuple[type[Rule], str, str]]:
    from ems.core.rule import Rule

    found: list[tuple[type[Rule], str, str]] = []
    for ep in plugins:
        try:
            target = ep.load()
        except Exception as exc:  # a broken plug-in must not take ems down
            raise RegistryError(f"cannot load rule plug-in {ep.name!r} ({ep.value}): {exc}") from exc
        origin = ep.distribution
        if inspect.isclass(target) and issubclass(target, Rule):
            found.append((target, origin, ep.version))
        elif isinstance(target, ModuleType):
            found.extend((rule, origin, ep.version) for rule in _rules_in_module(target))
        else:
            raise RegistryError(
                f"rule plug-in {ep.name!r} ({ep.value}) is neither a Rule subclass nor a module"
            )
    return found


@lru_cache(maxsize=1)
def load_rules() -> RuleSet:
    """Every rule, sorted by code, imported now. A duplicate code, or a plug-in that cannot
    be loaded, is a RegistryError naming the sources."""
    ruleset = lazy_rules()
    ruleset.rules  # noqa: B018 - load now: errors belong to this call
    return ruleset


@lru_cache(maxsize=1)
def lazy_rules() -> RuleSet:
    """The rule set of ``load_rules``, its rules imported on first use (RegistryError then)."""
    plugins = tuple(entry_points(group=ENTRY_POINT_GROUP))
    identity = "\n".join(
        [engine_digest(), *(f"{ep.name}={ep.value}@{ep.distribution}=={ep.version}" for ep in plugins)]
    )
    return RuleSet(
        identity=identity,
        loader=functools.partial(_load_every_rule, plugins),
        codes=None if plugins else builtin_codes,
    )


_MODULE_CODE = re.compile(r"([a-z]+[0-9]+)_[a-z0-9_]*\.py")


@lru_cache(maxsize=1)
def builtin_codes() -> tuple[str, ...]:
    """The built-in rules' codes from their modules' file names, sorted like ``codes``
    (a test holds them to the codes of the imported classes)."""
    folder = os.path.join(os.path.dirname(os.path.dirname(__file__)), "rules")
    found = (_MODULE_CODE.fullmatch(entry.name) for entry in os.scandir(folder))
    return tuple(sorted((m.group(1).upper() for m in found if m), key=_code_key))


def _load_every_rule(plugins: Iterable[EntryPoint]) -> tuple[tuple, tuple, tuple]:
    rules: dict[str, type[Rule]] = {}
    origins: dict[str, str] = {}
    for rule in builtin_rules():
        if rule.code in rules:
            raise RegistryError(f"two built-in rules use code {rule.code}")
        rules[rule.code] = rule
        origins[rule.code] = "builtin"
    versions: dict[str, str] = {}
    for rule, origin, version in _plugin_rules(plugins):
        versions[origin] = version
        if rule.code in rules:
            raise RegistryError(
                f"rule code {rule.code} from plug-in {origin!r} clashes with {origins[rule.code]!r}"
            )
        rules[rule.code] = rule
        origins[rule.code] = origin
    ordered = tuple(sorted(rules.values(), key=lambda r: _code_key(r.code)))
    return ordered, tuple(sorted(origins.items())), tuple(sorted(versions.items()))


def _code_key(code: str) -> tuple[str, int, str]:
    prefix = code.rstrip("0123456789")
    digits = code[len(prefix) :]
    return (prefix, int(digits) if digits else 0, code)
