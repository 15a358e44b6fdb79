"""The govnlp error tree.

Every error raised on purpose by govnlp derives from :class:`GovnlpError` and, where one fits, from the
matching builtin, so that ``except ValueError`` in existing code keeps working. Messages say what was
expected, what was found, and the fix.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EmbedderMismatchError",
    "FormatError",
    "GovnlpError",
    "MissingExtraError",
    "ModelNotFoundError",
    "ParseError",
    "TaxonomyError",
]


class GovnlpError(Exception):
    """Base class of all errors raised on purpose by govnlp."""


class ParseError(GovnlpError, ValueError):
    """Input that cannot be read as a reply or proposal (empty, binary, unsupported file type)."""


class ConfigError(GovnlpError, ValueError):
    """An argument or option with a value govnlp cannot use."""


class FormatError(GovnlpError, ValueError):
    """A saved folder that is missing, incomplete, of another format or of an unsupported version."""


class EmbedderMismatchError(GovnlpError, ValueError):
    """Vectors of two different embedders would be mixed (an index or classifier built with another model)."""


class ModelNotFoundError(GovnlpError, FileNotFoundError):
    """A model folder or model file that does not exist or is not a model."""


class MissingExtraError(GovnlpError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class TaxonomyError(GovnlpError, ValueError):
    """Labels that are not in the taxonomy, or a malformed taxonomy file."""


def missing_extra(package: str, extra: str, feature: str) -> MissingExtraError:
    """Build the error for a missing optional dependency.

    Args:
        package: the import name that failed.
        extra: the govnlp extra that installs it.
        feature: what the user tried to do.
    """
    return MissingExtraError(
        f"{feature} needs the optional package {package!r}, which is not installed. "
        f"Install it with: pip install 'govnlp[{extra}]'"
    )
