"""Sub-commands of ``npaf``: one module each, discovered by :mod:`npaf_pipeline.cli`."""
