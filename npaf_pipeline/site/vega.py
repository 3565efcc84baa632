"""The chart library, bundled for offline viewing: Vega, Vega-Lite and vega-embed as one local script.

vl-convert ships the three libraries inside its wheel and bundles them on request (no download), but bundling
takes several seconds, so the script is kept: in the previous build of the same site, and in a user cache
(``NPAF_CACHE_DIR``, else ``$XDG_CACHE_HOME/npaf-pipeline``, else ``~/.cache/npaf-pipeline``). The file name
carries the library versions, so an upgrade bundles afresh.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

# Exposes the libraries as globals for site.js (a classic script: file:// pages cannot load ES modules).
SNIPPET = "window.vegaEmbed = vegaEmbed;"


def bundle_name() -> str:
    import vl_convert as vlc

    vl = vlc.get_vegalite_versions()[-1]
    return f"vega-{vlc.get_vega_version()}-vega-lite-{vl}-embed-{vlc.get_vega_embed_version()}.js"


def cache_dir() -> Path:
    explicit = os.environ.get("NPAF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "npaf-pipeline"


def install_bundle(assets: Path, reuse_from: Sequence[Path] = ()) -> str:
    """Write the bundle into ``assets`` (reusing a kept copy when there is one) and return its file name."""
    name = bundle_name()
    target = assets / name
    for folder in (*reuse_from, cache_dir()):
        kept = folder / name
        if kept.is_file() and kept.stat().st_size > 0:
            shutil.copyfile(kept, target)
            return name
    import vl_convert as vlc

    text = vlc.javascript_bundle(SNIPPET)
    target.write_text(text, encoding="utf-8")
    try:  # best effort: a read-only home only costs the next build the bundling time
        cache = cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{name}.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(cache / name)
    except OSError:
        pass
    return name
