"""The README cannot rot: its Python code blocks run as written, in this checkout (fast) and, flagged slow, in a
fresh clone right after `make venv` (the set-up `make test` and `make repro` do), as a newcomer would run them."""
import os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def readme_python(readme: Path) -> str:
    "The README's ```python blocks, in order, as one script."
    blocks = re.findall(r'^```python\n(.*?)^```', readme.read_text(), flags=re.S | re.M)
    assert blocks, f'{readme}: no ```python block'
    return '\n'.join(blocks)

def test_readme_lists_the_two_commands():
    text = (ROOT/'README.md').read_text()
    assert 'make repro' in text and 'make test' in text
    assert '## Results' in text, 'README.md has no results section: run `make repro` (it regenerates README.md)'

def test_readme_python_runs_as_written(tmp_path):
    script = tmp_path/'readme.py'; script.write_text(readme_python(ROOT/'README.md'))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'})
    assert r.returncode == 0, f'README code fails:\n{r.stderr[-3000:]}'

@pytest.mark.slow
def test_fresh_clone_first_run(tmp_path):
    clone = tmp_path/'dsts'
    subprocess.run(['git', 'clone', '-q', str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'PYTHONPATH')}
    env['PATH'] = os.pathsep.join(p for p in env['PATH'].split(os.pathsep) if not p.startswith(str(ROOT)))
    r = subprocess.run(['make', 'venv'], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f'make venv failed in a fresh clone:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}'
    script = tmp_path/'readme.py'; script.write_text(readme_python(clone/'README.md'))
    r = subprocess.run(
        [str(clone / '.venv' / 'bin' / 'python'), str(script)],
        cwd=clone,
        env={**env, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, f'README code fails in a fresh clone:\n{r.stderr[-3000:]}'
    r = subprocess.run([str(clone/'.venv'/'bin'/'dsts-train'), '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--profile' in r.stdout
