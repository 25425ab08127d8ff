#!/usr/bin/env python
"""Build the documentation site from nbdev's processed notebooks, without quarto.

`nbdev_docs` needs quarto, which no registry this project reaches ships. This script keeps nbdev's own
processing and swaps only the renderer:

1. each library notebook and tutorial is copied to `_exec/` and executed there with the project's Jupyter kernel
   (`dsts`, the one `make lab` uses), top to bottom, skipping the cells flagged `slow`/`cuda` exactly as
   `nbdev_test` does (those keep the outputs stored in the notebook); a notebook that fails to run fails the
   build, naming the notebook and the cell;
2. nbdev's `proc_nbs` (what `nbdev_proc_nbs --path _exec` runs) writes `_proc/*.ipynb`: directives applied (`#| hide`
   and exported source cells give way to `show_doc`, which prints each function's signature with its parameters'
   trailing comments);
3. every notebook becomes a Markdown page (figures written as PNG files beside it), `results/results.md` becomes
   the Results page, and `mkdocs build --strict` (mkdocs-material) renders `_docs/`, with the sidebar of
   `mkdocs.yml`, which follows the method: data -> backbone -> specialized neurons -> search -> UDL -> training
   -> results.

Users who have quarto can still run `nbdev_docs`; it reads the same notebooks.
"""
import argparse, base64, json, os, re, shutil, subprocess, sys, time
import yaml
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXEC, PROC, SRC, SITE = ROOT/'_exec', ROOT/'_proc', ROOT/'_proc'/'site', ROOT/'_docs'
def _tst_flags() -> set:
    "settings.ini's tst_flags: the cells nbdev_test skips by default (read, not repeated here)."
    import configparser
    c = configparser.ConfigParser(); c.read(ROOT/'settings.ini')
    return set(c['DEFAULT'].get('tst_flags', '').split())
SKIP_FLAGS = _tst_flags()
FOLDERS = ('', 'tutorials')             # library notebooks and tutorials; nbs/pipeline/ are DVC stages, not pages

def directives(src: str) -> dict:
    "The `#| key: value` lines at the top of a cell, as {key: value or ''}."
    d = {}
    for line in src.splitlines():
        if not line.startswith('#|'): break
        k, _, v = line[2:].strip().partition(':')
        for word in (k.split() if not v else [k]): d[word.strip()] = v.strip()
    return d

def runs(cell) -> bool:
    "Whether the docs build executes this code cell (nbdev_test's rule: flagged, `eval: false` and `nbdev_export()` "
    "cells do not run)."
    src = ''.join(cell['source']); d = directives(src)
    return not (d.keys() & SKIP_FLAGS) and d.get('eval', 'true').lower() != 'false' and 'nbdev_export(' not in src

def execute(path: str, kernel: str='dsts', timeout: int=900) -> tuple[str, float]:
    "Execute the notebook at `path` in place with `kernel`; skipped cells keep their stored outputs."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    # IPC sockets, not loopback TCP: no transport warning (nbs/00b_nbrun.ipynb)
    from dsts.nbrun import IPCKernelManager
    path, t0 = Path(path), time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    todo = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code' and runs(c)]
    sub = nbformat.v4.new_notebook(metadata=nb.metadata, cells=[nb.cells[i] for i in todo])
    client = NotebookClient(sub, kernel_name=kernel, timeout=timeout, kernel_manager_class=IPCKernelManager,
                            resources={'metadata': {'path': str(path.parent)}})
    try: client.execute()
    except CellExecutionError as e:
        raise RuntimeError(f"nbs/{path.relative_to(EXEC)} failed to run with kernel {kernel!r}:\n{e}") from None
    for i, c in zip(todo, sub.cells): nb.cells[i] = c
    nbformat.write(nb, path)
    return str(path.relative_to(EXEC)), time.perf_counter() - t0

def coalesce_streams(cell: dict) -> dict:
    "The cell with consecutive stream outputs merged and carriage returns applied: a progress bar shows as its last "
    "state, once."
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    if cell.get('cell_type') != 'code': return cell
    for o in cell.get('outputs', []):
        # processed notebooks keep lists
        if o.get('output_type') == 'stream' and isinstance(o['text'], list): o['text'] = ''.join(o['text'])
    return CoalesceStreamsPreprocessor().preprocess_cell(nbformat.from_dict(cell), {}, 0)[0]

def _fence(text: str, lang: str='') -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"

def front_matter(nb: dict) -> dict:
    "nbdev's front matter (title, description, output-file) from a processed notebook's first raw cell."
    src = ''.join(nb['cells'][0]['source']) if nb['cells'] and nb['cells'][0]['cell_type'] == 'raw' else ''
    return (yaml.safe_load(src.strip().strip('-')) or {}) if src.startswith('---') else {}

def local_links(text: str, here: Path, pages: dict, base: str) -> str:
    "nbdev's links to symbols point at the quarto site (`base` = doc_host/doc_baseurl/, then `neurons.html#gate`): "
    "point them at our pages."
    def sub(m):
        target = pages.get(m.group(1))
        return f"]({os.path.relpath(target, here.parent)}{m.group(2) or ''})" if target else m.group(0)
    return re.sub(r'\]\(' + re.escape(base) + r'([\w./-]+\.html)(#[^)]*)?\)', sub, text)

def page(nb: dict, nb_path: Path, out_dir: Path) -> str:
    "Markdown for the processed notebook `nb` (read from `nb_path`); its PNG figures are written to `out_dir/<stem>/`."
    stem, md, n_img = nb_path.stem, [], 0
    for cell in nb['cells']:
        cell = coalesce_streams(cell)
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown': md.append(src + '\n'); continue
        if cell['cell_type'] == 'raw' and src.startswith(
            '---'
        ):  # nbdev's front matter: the notebook's title and summary
            fm = front_matter(nb)
            md.append(f"# {fm.get('title', stem)}\n\n" + (f"> {fm['description']}\n" if fm.get('description') else ''))
            continue
        if cell['cell_type'] != 'code': continue
        d = directives(src)
        if 'include' in d and d['include'] == 'false': continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and d.get('echo', 'true') != 'false': md.append(_fence(code, 'python'))
        if d.get('output', 'true') == 'false': continue
        for o in cell.get('outputs', []):
            data = o.get('data', {})
            if o['output_type'] == 'stream': md.append(_fence(''.join(o['text'])))
            elif 'image/png' in data:
                n_img += 1
                f = out_dir/stem/f'figure-{n_img}.png'
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(base64.b64decode(data['image/png']))
                md.append(f'![figure {n_img}]({stem}/{f.name})\n')
            elif 'text/markdown' in data: md.append(''.join(data['text/markdown']) + '\n')
            elif 'text/html' in data:
                md.append('<div class="nb-output" markdown="0">\n' + ''.join(data['text/html']).strip() + '\n</div>\n')
            elif 'text/plain' in data: md.append(_fence(''.join(data['text/plain'])))
            elif o['output_type'] == 'error': raise RuntimeError(f"{nb_path.name}: a cell's stored output is an error "
                                                                 f"({o['ename']})")
    return '\n'.join(md)

def results_page(out_dir: Path) -> str:
    "The Results page: `results/results.md` as the tables stage wrote it, figures copied beside it."
    res, figs = ROOT/'results'/'results.md', ROOT/'results'/'figures'
    # the home page (README) shows some too
    if figs.exists(): shutil.copytree(figs, out_dir/'results'/'figures', dirs_exist_ok=True)
    if not res.exists(): return '# Results\n\nNo results yet: run `make repro`.\n'
    text = res.read_text()
    # results.md links figures as results/figures/... (relative to the repository root, for the README)
    return text.replace('](results/tables/', '](https://github.com/dsts/dsts/blob/main/results/tables/')

def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], epilog='Output: _docs/index.html. `make docs` runs this.'
    )
    p.add_argument(
        '--no-exec',
        action='store_true',
        help='render the stored outputs only (fast; figures that only an executed cell makes are missing)',
    )
    p.add_argument(
        '--kernel',
        default='dsts',
        help='Jupyter kernel that executes the notebooks (default: dsts, installed by `make venv`)',
    )
    p.add_argument('--workers', type=int, default=2, help='notebooks executed in parallel (default: 2)')
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    os.chdir(ROOT)                                            # nbdev finds settings.ini from the working directory
    os.environ.pop('MPLBACKEND', None)  # the kernels draw with matplotlib's inline backend (Agg shows nothing)
    os.environ.update(
        HF_HUB_OFFLINE='1',
        NO_MKDOCS_2_WARNING='1',  # the kernels inherit this: offline, and no tqdm warning
        # about ipywidgets (tqdm.auto, imported by huggingface_hub)
        PYTHONWARNINGS='ignore:IProgress not found',
    )
    # `workers` kernels share the machine: one intra-op thread each unless the caller says otherwise. With PyTorch's
    # default (a thread per core) beside another kernel or a busy CPU, the threads spin-wait on each other: the
    # SynthDive tutorial's training cell (82 s on two idle cores) passed the 900 s cell timeout under a busy loop.
    os.environ.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // max(1, a.workers))))
    for d in (EXEC, PROC): shutil.rmtree(d, ignore_errors=True)
    rel = sorted(
        f.relative_to(ROOT / 'nbs')
        for d in FOLDERS
        for f in (ROOT / 'nbs' / d).glob('*.ipynb')
        if f.name != 'index.ipynb'
    )
    for r in rel: (EXEC/r).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT/'nbs'/r, EXEC/r)
    if not a.no_exec:
        with ProcessPoolExecutor(a.workers) as ex:
            for name, secs in ex.map(execute, [EXEC / r for r in rel], [a.kernel] * len(rel)):
                print(f'  executed {name:34s} {secs:6.1f} s', flush=True)
    # nbdev's processing itself (`proc_nbs`), not the `nbdev_proc_nbs` command: that one first tries to install quarto
    # (`sudo`, a download) and then `pip install -e .[dev]`, neither of which a docs build should do
    from nbdev.serve import proc_nbs
    proc_nbs(EXEC, n_workers=a.workers, force=True)
    nbs = {PROC/r: json.loads((PROC/r).read_text()) for r in rel}
    SRC.mkdir(parents=True, exist_ok=True)
    md_of = {f: SRC/f.relative_to(PROC).with_suffix('.md') for f in nbs}
    pages = {front_matter(nbs[f]).get('output-file'): d.relative_to(SRC) for f, d in md_of.items()}
    from nbdev.config import get_config
    cfg = get_config()
    base = cfg.doc_host.rstrip('/') + cfg.doc_baseurl.rstrip('/') + '/'
    for f, dest in md_of.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(local_links(page(nbs[f], f, dest.parent), dest.relative_to(SRC), pages, base))
    # the home page is the README (nbs/index.ipynb rendered by `make readme`): its links point into the repository
    readme = (ROOT/'README.md').read_text()
    (SRC/'index.md').write_text(readme)
    (SRC/'results.md').write_text(results_page(SRC))
    (SRC/'extra.css').write_text('.nb-output { overflow-x: auto; font-size: .7rem; }\n')
    shutil.rmtree(SITE, ignore_errors=True)
    subprocess.run(
        [Path(sys.executable).parent / 'mkdocs', 'build', '--strict', '--quiet', '-f', ROOT / 'mkdocs.yml'],
        cwd=ROOT,
        check=True,
    )
    print(f'docs: {SITE/"index.html"}  ({len(nbs) + 2} pages, {time.perf_counter() - t0:.0f} s)')

if __name__ == '__main__': main()
