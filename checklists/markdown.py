"""Text for Markdown tables in the reports: shown as typed, on one line."""

_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|"})


def escape(value: object) -> str:
    """`value` as text with Markdown's special characters backslash-escaped and line breaks folded to spaces."""
    return " ".join(str(value).split()).translate(_SPECIAL)
