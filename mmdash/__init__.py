"""The dashboard as an installed program: the `mmdash` command (mmdash.cli), its logging (mmdash.logs) and the
/healthz endpoint of the served app (mmdash.healthz)."""

__version__ = "0.1.0"
