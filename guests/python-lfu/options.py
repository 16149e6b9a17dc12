"""The `init` options this backend accepts, parsed and checked."""

from dataclasses import dataclass
from typing import List, Optional, Tuple

ACCEPTED = ("max-entries", "max-bytes")
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Options:
    """The bounds of one store."""

    max_entries: int = DEFAULT_MAX_ENTRIES
    max_bytes: Optional[int] = None


class OptionError(Exception):
    """An option the store refuses; the message names it and what is accepted."""


def _positive(name: str, value: str) -> int:
    # int() would accept "+5", " 5" and "1_000"; the contract wants plain digits.
    if not value.isascii() or not value.isdigit() or int(value) == 0:
        raise OptionError(f"option `{name}` must be a positive integer, not {value!r}")
    return int(value)


def parse(pairs: List[Tuple[str, str]]) -> Options:
    """Parses `init`'s name/value pairs, refusing unknown, bad or repeated options."""
    seen = {}
    for name, value in pairs:
        if name not in ACCEPTED:
            raise OptionError(f"unknown option `{name}`: this LFU store accepts {', '.join(ACCEPTED)}")
        if name in seen:
            raise OptionError(f"option `{name}` given twice")
        seen[name] = _positive(name, value)
    return Options(
        max_entries=seen.get("max-entries", DEFAULT_MAX_ENTRIES),
        max_bytes=seen.get("max-bytes"),
    )
