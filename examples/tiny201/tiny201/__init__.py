"""A lapt space plugin: a CSV archive of evaluated cells and its YAML, as one entry point."""

from importlib import resources

from lapt.spaces.table import TableSpace


def space() -> TableSpace:
    """The ``tiny201`` space (lapt calls this on first use of the name)."""
    with resources.as_file(resources.files(__name__) / "space.yaml") as path:
        return TableSpace.from_yaml(path)
