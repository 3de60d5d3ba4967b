"""Refresh the vendored GraphiQL build in app/graphql/graphiql/vendor/.

GraphiQL is served from files in this repository, so that it works without internet.
They are the ones Strawberry's own page loads from a CDN: this reads their packages,
versions and Subresource Integrity hashes from the installed Strawberry's
`strawberry/static/graphiql.html`, fetches each package once from the npm registry
(`npm pack`), checks each file against its hash and writes it with a manifest
(`assets.json`) that the page and the tests read.

    poetry run python scripts/refresh_graphiql.py     # after upgrading Strawberry
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import strawberry

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "app" / "graphql" / "graphiql" / "vendor"
STRAWBERRY_PAGE = Path(strawberry.__file__).parent / "static" / "graphiql.html"
# <script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js" integrity="...">
ASSET = re.compile(
    r'(?:src|href)="https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.-]+)/'
    r'(?P<path>[^"]+)"\s+integrity="(?P<integrity>sha384-[A-Za-z0-9+/=]+)"'
)
# Strawberry's page reads Django's CSRF cookie with js-cookie; this API has no such cookie.
UNUSED = {"js-cookie"}


def integrity(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


def main() -> None:
    if shutil.which("npm") is None:
        sys.exit("npm is needed to fetch the packages from the npm registry")
    assets = [m.groupdict() for m in ASSET.finditer(STRAWBERRY_PAGE.read_text("utf-8"))]
    assets = [asset for asset in assets if asset["package"] not in UNUSED]
    if not assets:
        sys.exit(f"no pinned assets found in {STRAWBERRY_PAGE}")
    manifest = []
    with tempfile.TemporaryDirectory() as scratch:
        for asset in assets:
            spec = f"{asset['package']}@{asset['version']}"
            packed = subprocess.run(
                ["npm", "pack", "--silent", "--pack-destination", scratch, spec],  # noqa: S607
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            with tarfile.open(Path(scratch) / packed) as archive:
                member = archive.extractfile(f"package/{asset['path']}")
                assert member is not None, f"{spec} has no {asset['path']}"
                content = member.read()
            if integrity(content) != asset["integrity"]:
                sys.exit(f"{spec}/{asset['path']} does not match Strawberry's integrity hash")
            # react.production.min.js, graphiql.min.css, plugin-explorer.style.css
            short, base = asset["package"].rsplit("/", 1)[-1], Path(asset["path"]).name
            name = base if base.startswith(short) else f"{short}.{base}"
            manifest.append({**asset, "file": name})
            VENDOR.mkdir(parents=True, exist_ok=True)
            (VENDOR / name).write_bytes(content)
            print(f"{name}: {spec}/{asset['path']} ({len(content)} bytes, hash verified)")
    kept = {entry["file"] for entry in manifest} | {"assets.json"}
    for stale in VENDOR.iterdir():
        if stale.name not in kept:
            stale.unlink()
    (VENDOR / "assets.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
