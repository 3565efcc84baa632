"""Where the pipeline reads and writes, as a Dagster resource (defaults from environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg


class NpafSettings(dg.ConfigurableResource):
    """Landing zone, published outputs, working state and the framework rule set of a deployment."""

    landing_dir: str
    output_dir: str
    state_dir: str
    framework: str = "nof-2025-26"
    quarantine_blocks: bool = True

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def output(self) -> Path:
        return Path(self.output_dir)

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


def settings_from_env(environ: dict[str, str] | None = None) -> NpafSettings:
    """``NPAF_LANDING_DIR``, ``NPAF_OUTPUT_DIR``, ``NPAF_STATE_DIR`` and ``NPAF_FRAMEWORK``, with the
    bundled-sample defaults that ``make run`` uses."""
    env = os.environ if environ is None else environ
    output = Path(env.get("NPAF_OUTPUT_DIR", "build/output")).absolute()
    # absolute, so the code location is the same whichever folder it is loaded from (`make ui`, `npaf backfill`):
    # the paths are part of the job's snapshot, and runs re-execute without a "different version" warning
    return NpafSettings(
        landing_dir=str(Path(env.get("NPAF_LANDING_DIR", "build/sample-landing")).absolute()),
        output_dir=str(output),
        state_dir=str(Path(env.get("NPAF_STATE_DIR", str(output / ".state"))).absolute()),
        framework=env.get("NPAF_FRAMEWORK", "nof-2025-26"),
        quarantine_blocks=env.get("NPAF_QUARANTINE_BLOCKS", "true").lower() != "false",
    )
