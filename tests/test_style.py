"""Code a reader sees whole: the docs site shows code cells as they are and cuts lines at the right edge; every code
line of the project fits in 120 characters."""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 120


def test_no_library_line_is_longer_than_120_characters():
    """Every line of dsts/ (the export cells of nbs/, hence what the docs site shows) fits in 120 characters. Two things
    nbdev_export writes itself are left out, as no notebook holds them and no page shows them: `_modidx.py` (its
    symbol index) and the `__all__` list it wraps at 120 characters *before* prefixing `__all__ = `."""
    long = []
    for f in sorted((ROOT/'dsts').rglob('*.py')):
        if f.name == '_modidx.py': continue
        lines = f.read_text().splitlines()
        start = next((i for i, l in enumerate(lines) if l.startswith('__all__ = [')), None)
        end = (
            next((i for i in range(start, len(lines)) if lines[i].rstrip().endswith(']')), start)
            if start is not None
            else -1
        )
        long += [f"{f.relative_to(ROOT)}:{i + 1}: {len(l)} characters" for i, l in enumerate(lines)
                 if len(l) > WIDTH and not (start is not None and start <= i <= end)]
    assert not long, 'lines over 120 characters (wrap them in the notebook, then nbdev_export):\n' + '\n'.join(long)


def test_the_check_sees_a_long_line(tmp_path, monkeypatch):
    "The check above fails on a long line of code (a check that cannot fail checks nothing)."
    (tmp_path/'dsts').mkdir()
    (tmp_path/'dsts'/'m.py').write_text("__all__ = ['" + 'a' * 125 + "']\nx = '" + 'b' * 130 + "'\n")
    monkeypatch.setattr(__import__(__name__), 'ROOT', tmp_path)
    try: test_no_library_line_is_longer_than_120_characters()
    except AssertionError as e: assert 'dsts/m.py:2: 136 characters' in str(e) and 'm.py:1' not in str(e)
    else: raise AssertionError('a 136-character line passed')


def long_code_lines(root=None) -> list[str]:
    """Lines over 120 characters in tools/, bench/, tests/ (Python files) and in every code cell of nbs/ (exported or
    not, the pipeline's stages and the tutorials included)."""
    root = root or ROOT
    long = [f"{f.relative_to(root)}:{i + 1}: {len(l)} characters"
            for d in ('tools', 'bench', 'tests') for f in sorted((root/d).rglob('*.py'))
            for i, l in enumerate(f.read_text().splitlines()) if len(l) > WIDTH]
    for f in sorted((root/'nbs').rglob('*.ipynb')):
        if '.ipynb_checkpoints' in f.parts: continue
        cells = json.loads(f.read_text())['cells']
        long += [f"{f.relative_to(root)}: cell {n}: {len(l)} characters" for n, c in enumerate(cells)
                 if c['cell_type'] == 'code' for l in ''.join(c['source']).splitlines() if len(l) > WIDTH]
    return long


def test_no_code_line_of_tools_bench_tests_or_notebooks_is_longer_than_120_characters():
    long = long_code_lines()
    assert not long, 'code lines over 120 characters (wrap them):\n' + '\n'.join(long)


def test_the_code_check_sees_long_lines_in_files_and_notebook_cells(tmp_path):
    for d in ('tools', 'bench', 'tests', 'nbs'): (tmp_path/d).mkdir()
    (tmp_path/'tools'/'t.py').write_text('x = 1\n' + 'y' * 121 + '\n')
    cell = lambda kind, src: dict(cell_type=kind, source=[src], metadata={})
    (tmp_path/'nbs'/'n.ipynb').write_text(json.dumps(dict(cells=[cell('markdown', 'm' * 200), cell('code', 'ok'),
                                                                   cell('code', 'z' * 130)])))
    assert long_code_lines(tmp_path) == ['tools/t.py:2: 121 characters', 'nbs/n.ipynb: cell 2: 130 characters']


def test_every_library_notebook_has_a_number_of_its_own():
    "`08_config`, `08a_checkpoint`, `08b_train`: a number (with its letter) names one notebook, the sidebar's order."
    stems = [p.stem.split('_')[0] for p in sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))]
    assert len(stems) == len(set(stems)), sorted(s for s in stems if stems.count(s) > 1)
