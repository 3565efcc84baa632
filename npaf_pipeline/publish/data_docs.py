"""Great Expectations Data Docs that open offline and render the same bytes for the same run.

GX's page templates load Bootstrap, jQuery, Font Awesome, bootstrap-table, a date picker, a dark theme and
Vega from public CDNs, and its logo from a web server with the build time in the URL. NHS networks often block
CDNs, and offline the index page shows no list of validations. After GX builds the site, every page's
references are pointed at files inside the site: Bootstrap, jQuery and Font Awesome copied from their XStatic
packages (pinned in ``constraints.txt``), GX's own logo and favicon from the ``static/images`` GX copies in, and
``table.js`` beside this module for the index's lists (no maintained PyPI or Debian package ships
bootstrap-table; the script renders the same columns and rows, without bootstrap-table's filters, search and
paging). Libraries our pages do not use (the date picker and Vega, which only chart expectations we do not
have, and the optional dark theme) are dropped; a page that needs one, or any other outside asset, stops the
build with the URL rather than shipping a page that reaches for the network.

GX also writes a random id into every collapsible block and the time each batch was loaded; those are made
stable here (ids numbered in page order, the load-time marker removed), so a rerun of the same backfill
leaves the Data Docs byte-identical.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

VENDOR = Path("static") / "vendor"
TABLE_SCRIPT = Path(__file__).with_name("table.js")

# (XStatic package, path inside its data folder, path under static/vendor/)
FILES = (
    ("bootstrap", "css/bootstrap.min.css", "bootstrap/css/bootstrap.min.css"),
    ("bootstrap", "js/bootstrap.bundle.min.js", "bootstrap/js/bootstrap.bundle.min.js"),
    ("jquery", "jquery.min.js", "jquery/jquery.min.js"),
    ("font_awesome", "css/all.min.css", "font-awesome/css/all.min.css"),
    ("font_awesome", "webfonts", "font-awesome/webfonts"),
)

# What each CDN reference becomes: a local stylesheet, a local script, or nothing (``None``).
STYLESHEETS = {"bootstrap/4.": "bootstrap/css/bootstrap.min.css", "font-awesome/": "font-awesome/css/all.min.css"}
SCRIPTS = {
    "jquery-3.": "jquery/jquery.min.js",
    "bootstrap/4.": "bootstrap/js/bootstrap.bundle.min.js",  # the bundle includes Popper
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "table.js",
}
DROPPED = ("popper.js/", "filter-control", "bootstrap-datepicker", "bootstrap-dark", "bootstrap-table@", "npm/vega")
NEEDS_DROPPED = {"vegaEmbed(": "Vega", ".datepicker(": "bootstrap-datepicker"}
GX_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
LOGO = "logo-long.png"

TAG = re.compile(r"<(link|script)\b[^>]*?\b(?:href|src)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?", re.I)
GX_ASSET = re.compile(re.escape(GX_ASSETS) + r"([A-Za-z0-9_.-]+)(?:\?[^\"')\s]*)?")
OUTSIDE_LOAD = re.compile(
    r"<(?:link|script|img|iframe|source)\b[^>]*?\b(?:href|src)=\"(?:https?:)?//[^\"]+\""
    r"|url\(\s*['\"]?(?:https?:)?//",
    re.I,
)
STATIC = re.compile(r"(?<=[\"'(])(?:\./|(?:\.\./)+)static/")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOAD_TIME_ROW = re.compile(r"<tr>(?:(?!</tr>).)*?>ge_load_time<(?:(?!</tr>).)*?</tr>", re.S)


class DataDocsError(RuntimeError):
    """A Data Docs page references something that cannot be made local."""


def _package_dir(name: str) -> Path:
    return Path(import_module(f"xstatic.pkg.{name}").BASE_DIR)


def copy_assets(site: Path) -> None:
    """Copy the vendored CSS, JavaScript and fonts, and the index's table script, into ``site``."""
    vendor = site / VENDOR
    for package, source, target in FILES:
        src, dst = _package_dir(package) / source, vendor / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    shutil.copyfile(TABLE_SCRIPT, vendor / "table.js")


def _local(url: str, table: dict[str, str]) -> str | None:
    return next((target for key, target in table.items() if key in url), None)


def _tag(match: re.Match[str], root: str, page: Path) -> str:
    kind, url = match.group(1).lower(), match.group(2)
    target = _local(url, STYLESHEETS if kind == "link" else SCRIPTS)
    if target is not None:
        path = f"{root}/{VENDOR.as_posix()}/{target}"
        return f'<link rel="stylesheet" href="{path}">' if kind == "link" else f'<script src="{path}"></script>'
    if any(key in url for key in DROPPED):
        return ""
    raise DataDocsError(f"{page}: no local copy of {url}")


def _gx_asset(match: re.Match[str], root: str, images: Path) -> str:
    name = match.group(1)
    return f"{root}/static/images/{name if (images / name).is_file() else LOGO}"


def _stable_ids(text: str) -> str:
    """GX's random element ids, numbered in order of first appearance on the page."""
    seen: dict[str, str] = {}
    return UUID.sub(lambda m: seen.setdefault(m.group(0), f"id{len(seen) + 1}"), text)


def localise_page(text: str, root: str, page: Path, images: Path) -> str:
    """One page with every asset local (``root``: the site's root relative to the page) and stable bytes."""
    for needle, library in NEEDS_DROPPED.items():
        if needle in text:
            raise DataDocsError(f"{page}: uses {library}, which the offline Data Docs do not ship")
    text = TAG.sub(lambda m: _tag(m, root, page), text)
    text = GX_ASSET.sub(lambda m: _gx_asset(m, root, images), text)
    text = STATIC.sub(f"{root}/static/", text)  # GX's relative paths are one level short on validation pages
    outside = OUTSIDE_LOAD.search(text)
    if outside:
        raise DataDocsError(f"{page}: still loads {outside.group(0)}")
    return LOAD_TIME_ROW.sub("", _stable_ids(text))


def pages(site: Path) -> Iterator[Path]:
    return iter(sorted(site.rglob("*.html")))


def make_offline(site: Path) -> None:
    """Copy the assets into the built ``site`` and rewrite each of its pages to use them."""
    copy_assets(site)
    images = site / "static" / "images"
    for page in pages(site):
        depth = len(page.relative_to(site).parts) - 1
        root = "/".join([".."] * depth) or "."
        text = page.read_text(encoding="utf-8")
        page.write_text(localise_page(text, root, page.relative_to(site), images), encoding="utf-8")
