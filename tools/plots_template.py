#!/usr/bin/env python
"""Build DVC's HTML template for `dvc plots show` that draws offline: `.dvc/plots/offline.html`.

DVC's own page loads Vega, Vega-Lite and Vega-Embed from a CDN, so on a machine without network it draws nothing.
This template carries the three scripts inline (the versions DVC's renderer names, from their npm packages) and
leaves out DVC's `{scripts}` placeholder, where the CDN tags would go; `.dvc/config` points `plots.html_template` at
it. Run it again only to move to other versions (it needs the npm registry; the template it writes is committed):

  python tools/plots_template.py            # npm pack into a temporary folder, then write the template
  python tools/plots_template.py --from DIR # the three .tgz files of `npm pack` already in DIR
"""
import argparse, hashlib, io, subprocess, sys, tarfile, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'.dvc'/'plots'/'offline.html'
PACKAGES = {'vega': ('5.20.2', 'build/vega.min.js'), 'vega-lite': ('5.2.0', 'build/vega-lite.min.js'),
            'vega-embed': ('6.18.2', 'build/vega-embed.min.js')}   # as dvc_render.vega.VegaRenderer.SCRIPTS names them


def script(tgz: Path, member: str) -> str:
    "The text of `package/<member>` in an npm tarball, checked to be safe inside a <script> element."
    with tarfile.open(tgz) as t: text = t.extractfile(f'package/{member}').read().decode()
    bad = [s for s in ('</script', '{plot_divs}', '{scripts}', '{refresh_tag}') if s in text]
    if bad: sys.exit(f'{tgz.name}:{member} holds {bad}: it cannot be inlined in the template')
    return text


def build(folder: Path) -> str:
    "The template, from the three npm tarballs in `folder`."
    parts = []
    for name, (version, member) in PACKAGES.items():
        tgz = folder/f'{name}-{version}.tgz'
        if not tgz.exists(): sys.exit(f'{tgz}: missing (npm pack {name}@{version})')
        sha = hashlib.sha256(tgz.read_bytes()).hexdigest()[:16]
        parts.append(f'<!-- {name}@{version} {member}, npm tarball sha256 {sha}... -->\n<script>{script(tgz, member)}'
                     '</script>')
    return ('<!DOCTYPE html>\n<html>\n<head>\n{refresh_tag}\n<title>dsts: DVC plots (drawn offline)</title>\n'
            + '\n'.join(parts) + '\n<style>table { border-spacing: 15px; } body { font-family: sans-serif; }</style>\n'
            '</head>\n<body>\n{plot_divs}\n</body>\n</html>\n')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--from', dest='src', help='a folder with the npm tarballs (default: npm pack them)')
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(a.src or tmp)
        if not a.src:
            subprocess.run(['npm', 'pack', '--silent', *[f'{n}@{v}' for n, (v, _) in PACKAGES.items()]], cwd=src,
                           check=True, stdout=subprocess.DEVNULL)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(build(src))
    print(f'{OUT.relative_to(ROOT)}: {OUT.stat().st_size / 1e3:.0f} kB')


if __name__ == '__main__': main()
