"""``npaf`` sub-commands that run the pipeline through Dagster (registered as ``npaf.commands`` entry points)."""
