"""Code a reader sees whole: the docs site shows export cells as they are, and cuts lines at the right edge."""
import ast, re
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
        end = next((i for i in range(start, len(lines)) if lines[i].rstrip().endswith(']')), start) if start is not None else -1
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
