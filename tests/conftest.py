import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.environ.setdefault('HF_HUB_OFFLINE', '1')   # no network at run time: hub requests fail fast


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', help='also run tests marked slow')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: slow test, skipped unless --runslow')
    config.addinivalue_line('markers', 'cuda: needs a CUDA device, skipped without one')


def pytest_collection_modifyitems(config, items):
    import torch
    for item in items:
        if 'slow' in item.keywords and not config.getoption('--runslow'):
            item.add_marker(pytest.mark.skip(reason='slow: run with --runslow'))
        if 'cuda' in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason='no CUDA device'))


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
DRIVER = shutil.which('chromedriver')
needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason='headless Chromium not installed: `make browser` '
                                    '(Debian chromium + chromium-driver)')


def headless_chromium():
    """A selenium driver of Debian's Chromium, headless and kept off the network (no background requests, no
    selenium-manager lookups); its browser log is kept, for tests that a page raised no error."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ['SE_OFFLINE'] = 'true'      # never let selenium-manager look for a driver on the network
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,900',
              '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def run(cmd, cwd=ROOT, check=True, **kw):
    "Run a command with the project's venv first on PATH; return the CompletedProcess."
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}", **kw.pop('env', {})}
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=isinstance(cmd, str), **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}")
    return p


TINY_SYNTH = dict(frames=16, size=32, workers=2,
                  synthdive=dict(train_per_class=1, test_per_class=1),
                  synthsomething=dict(train_per_class=2, val_per_class=1, test_per_class=1, ext='.webm'))


def clone_working_tree(dest):
    """`git clone` this repository to `dest`, then lay the working tree's pipeline over it (library, notebooks, tools,
    dvc.yaml, params.yaml, data.dvc and the bundled DVC remote), so uncommitted work is what gets tested."""
    run(['git', 'clone', '-q', str(ROOT), str(dest)])
    for sub in ('dsts', 'nbs', 'tools'):
        shutil.rmtree(dest/sub); shutil.copytree(ROOT/sub, dest/sub, ignore=shutil.ignore_patterns('__pycache__'))
    for f in ('dvc.yaml', 'params.yaml', 'data.dvc', '.dvcignore'): shutil.copy(ROOT/f, dest/f)
    shutil.copytree(ROOT/'.dvc/bundled-remote', dest/'.dvc/bundled-remote', dirs_exist_ok=True)
    return dest
