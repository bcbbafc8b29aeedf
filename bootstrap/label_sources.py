"""Command-line options of the label sources registered in `labelers.sources`.

Each source's options come from the fields of its settings dataclass (help text and choices in the
field metadata). Options are grouped by the sources that take them: an option several sources declare
(`--model`, the k-means options) appears once, in the group of all its sources, so a new source may
reuse an option name; two sources that declare one name with different types or choices are refused
when the parser is built. After parsing, an option given on the command line that the chosen source
does not take is refused with a line naming the sources it belongs to.

Adding a source needs nothing here: register it in `labelers.sources`.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing

from labelers.labeler import LabelSourceError
from labelers.sources import SOURCES, SourceSpec, base_type


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kind(cls: type, f: dataclasses.Field) -> tuple[type, tuple | None]:
    """(argparse type, choices) of a settings field; bool fields are flags."""
    return base_type(typing.get_type_hints(cls)[f.name]), f.metadata.get("choices")


def option_owners(sources: dict[str, SourceSpec] | None = None) -> dict[str, list[str]]:
    """Option (field) name -> the sources that take it, in registry order; refuses conflicting declarations."""
    sources = SOURCES if sources is None else sources
    owners: dict[str, list[str]] = {}
    kinds: dict[str, tuple] = {}
    for name, spec in sources.items():
        for f in dataclasses.fields(spec.settings_class):
            kind = _kind(spec.settings_class, f)
            if f.name in kinds and kinds[f.name] != kind:
                first = owners[f.name][0]
                raise LabelSourceError(f"label source {name!r} declares {_flag(f.name)} as {kind}, but {first!r} "
                                       f"declares it as {kinds[f.name]}; rename one of them")
            kinds.setdefault(f.name, kind)
            owners.setdefault(f.name, []).append(name)
    return owners


def add_source_options(p: argparse.ArgumentParser, sources: dict[str, SourceSpec] | None = None) -> None:
    """One argument group per set of sources sharing options; values not given stay absent from the
    namespace (argparse.SUPPRESS), so each source's dataclass supplies its own defaults."""
    sources = SOURCES if sources is None else sources
    owners = option_owners(sources)
    groups: dict[tuple[str, ...], argparse._ArgumentGroup] = {}
    for option, names in owners.items():
        key = tuple(names)
        if key not in groups:
            groups[key] = p.add_argument_group("--source " + ", ".join(names))
        spec = sources[names[0]]
        f = next(f for f in dataclasses.fields(spec.settings_class) if f.name == option)
        base, choices = _kind(spec.settings_class, f)
        help_text = f.metadata.get("help") or None
        if base is bool:
            groups[key].add_argument(_flag(option), dest=option, action="store_true", default=argparse.SUPPRESS,
                                     help=help_text)
        else:
            groups[key].add_argument(_flag(option), dest=option, type=base, choices=choices,
                                     default=argparse.SUPPRESS, help=help_text)


def settings_from_args(args: argparse.Namespace, sources: dict[str, SourceSpec] | None = None):
    """The chosen source's settings from the options given; an option of another source is a LabelSourceError."""
    sources = SOURCES if sources is None else sources
    spec = sources[args.source]
    given = {name: getattr(args, name) for name in option_owners(sources) if name in vars(args)}
    return spec.settings(**given)
