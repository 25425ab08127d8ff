"""Run a notebook's cells flagged `slow` (with every cell before them) in the project's kernel and keep the
outputs of the slow cells in the notebook, as the slow cells of the library notebooks keep the figures of
their last run. Usage: python tools/run_slow.py nbs/05_search.ipynb [--kernel dsts] [--timeout 1800]"""
import argparse, os
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

def is_slow(cell) -> bool:
    return cell.cell_type == 'code' and any(
        l.strip().startswith('#|') and 'slow' in l.split() for l in cell.source.splitlines()
    )

def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument('notebook')
    ap.add_argument('--kernel', default='dsts')
    ap.add_argument('--timeout', type=int, default=1800)
    a = ap.parse_args(argv)
    path = Path(a.notebook)
    nb = nbformat.read(path, as_version=4)
    slow = [i for i, c in enumerate(nb.cells) if is_slow(c)]
    if not slow: raise SystemExit(f"{path}: no cell is flagged slow")
    todo = [
        i for i, c in enumerate(nb.cells[: slow[-1] + 1]) if c.cell_type == 'code' and 'nbdev_export(' not in c.source
    ]
    sub = nbformat.v4.new_notebook(metadata=nb.metadata, cells=[nbformat.from_dict(dict(nb.cells[i])) for i in todo])
    os.environ.setdefault('PYTHONWARNINGS', 'ignore:IProgress not found')
    NotebookClient(
        sub, kernel_name=a.kernel, timeout=a.timeout, resources={'metadata': {'path': str(path.parent)}}
    ).execute()
    for i, c in zip(todo, sub.cells):
        if i in slow:   # a progress bar kept as its last line, not one line per refresh
            nb.cells[i].outputs, nb.cells[i].execution_count = (
                CoalesceStreamsPreprocessor().preprocess_cell(c, {}, 0)[0].outputs,
                None,
            )
    nbformat.write(nb, path)
    print(f"{path}: outputs of {len(slow)} slow cell(s) kept")

if __name__ == '__main__': main()
