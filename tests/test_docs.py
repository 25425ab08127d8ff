"""The documentation site (`make docs`): built from nbdev's processed notebooks, every library notebook executed
top to bottom with the project's Jupyter kernel (the one `make lab` opens), then opened in headless Chromium."""
import functools, http.server, re, subprocess, sys, threading
from pathlib import Path
import pytest, yaml

from conftest import ROOT, headless_chromium, needs_chromium

def nav_pages(nav):
    for item in nav:
        v = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(v, list): yield from nav_pages(v)
        elif not v.startswith('http'): yield v      # external links (the source code) are not pages of the site

@pytest.fixture(scope='module')
def site():
    r = subprocess.run([sys.executable, 'tools/docs.py'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f'tools/docs.py failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}'
    return ROOT/'_docs'

def test_every_notebook_ran_with_the_project_kernel(site):
    nbs = sorted(
        p.relative_to(ROOT / 'nbs').with_suffix('')
        for d in ('', 'tutorials')
        for p in (ROOT / 'nbs' / d).glob('*.ipynb')
        if p.name != 'index.ipynb'
    )
    import nbformat
    for name in nbs:
        nb = nbformat.read(ROOT/'_exec'/f'{name}.ipynb', as_version=4)
        errors = [o for c in nb.cells for o in c.get('outputs', []) if o.output_type == 'error']
        assert not errors, f'{name}: {errors[0].ename}'
        ran = [c for c in nb.cells if c.cell_type == 'code' and c.get('execution_count')]
        assert ran, f'{name}: no cell was executed'

def test_pages_follow_the_method_and_carry_docs_and_figures(site):
    nav = list(nav_pages(yaml.safe_load((ROOT/'mkdocs.yml').read_text())['nav']))
    order = [p for p in nav if re.match(r'\d\d', p)]
    assert order == sorted(
        order
    ), 'the sidebar must follow the notebooks (data -> backbone -> neurons -> search -> UDL -> training)'
    modules = {p.stem for p in (ROOT/'nbs').glob('[0-9]*.ipynb')}
    assert modules == {
        Path(p).stem for p in order
    }, f'notebooks without a page or pages without a notebook: {modules ^ {Path(p).stem for p in order}}'
    for p in nav:
        html = (site/p.replace('.md', '')/'index.html') if p != 'index.md' else site/'index.html'
        assert html.exists(), f'{p}: no page {html}'
    neurons = (site/'04_neurons'/'index.html').read_text()
    assert (
        'DSTSLayer' in neurons and '<table>' in neurons and 'Details' in neurons
    ), 'show_doc table of the parameters missing'
    imgs = sum(
        len(re.findall(r'<img [^>]*src="[^"]+\.png"', (site / p.replace('.md', '') / 'index.html').read_text()))
        for p in nav
        if p != 'index.md'
    )
    assert imgs >= 10, f'only {imgs} figures in the site'

@needs_chromium
def test_site_in_headless_chromium(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    drv = headless_chromium()
    base = f'http://127.0.0.1:{server.server_address[1]}/'
    try:
        nav = list(nav_pages(yaml.safe_load((ROOT/'mkdocs.yml').read_text())['nav']))
        for p in nav:
            url = base + ('' if p == 'index.md' else p.replace('.md', '/'))
            drv.get(url)
            assert drv.execute_script('return document.readyState') == 'complete'
            errors = [e for e in drv.get_log('browser') if e['level'] == 'SEVERE']
            assert not errors, f'{url}: console errors {errors}'
            broken = drv.execute_script(
                "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            assert not broken, f'{url}: figures that do not render: {broken}'
        drv.get(base)
        shot = site/'screenshot-index.png'
        drv.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and shot.stat().st_size > 10_000
    finally:
        drv.quit(); server.shutdown()


def test_no_pointer_outside_the_repository():
    "A clone holds everything a reader is sent to: no `../shared` (the design folder beside a developer's checkout)."
    tracked = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = [
        f
        for f in tracked
        if f.endswith(('.ipynb', '.md', '.py', '.txt', '.yaml', '.yml', '.ini'))
        and (ROOT / f).exists()
        and '../shared' in (ROOT / f).read_text(errors='ignore')
    ]
    hits = [f for f in hits if f != 'tests/test_docs.py']
    assert not hits, f'files that point outside the repository: {hits}'
