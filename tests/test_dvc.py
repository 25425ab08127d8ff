"""DVC on a fresh clone with no remote configured by the user: status, pull and repro all succeed, and
a second repro does nothing. Runs the real dvc.yaml's `synth` stage with tiny params in a temporary clone
(every other stage, and a no-op second `dvc repro` of the whole graph, is in test_pipeline.py)."""
import pytest, yaml
from conftest import run, clone_working_tree, TINY_SYNTH, BIN


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    return clone_working_tree(tmp_path_factory.mktemp('clone')/'dsts')


def test_fresh_clone_status_and_pull(clone):
    run([str(BIN/'dvc'), 'status'], cwd=clone)
    assert not (clone/'data').exists()
    run([str(BIN/'dvc'), 'pull'], cwd=clone)
    assert (clone/'data'/'README.md').read_text().startswith('# data/')
    for synth in ('synthdive', 'synthsomething'):   # every dataset has data/<name>: the stages reading it depend on it
        assert 'generated, not stored' in (clone/'data'/synth/'README.md').read_text()


def test_repro_twice_second_is_a_noop(clone):
    params = yaml.safe_load((clone/'params.yaml').read_text())
    params['synth'] = TINY_SYNTH
    (clone/'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    run([str(BIN/'dvc'), 'repro', 'synth'], cwd=clone)
    assert (clone/'artifacts'/'synth'/'synthdive'/'Diving48_V2_train.json').exists()
    assert (clone/'results'/'figures'/'synth_samples.png').stat().st_size > 1000
    p = run([str(BIN/'dvc'), 'repro', 'synth'], cwd=clone)
    assert 'up to date' in p.stdout or "didn't change" in p.stdout
    m = run([str(BIN/'dvc'), 'metrics', 'show'], cwd=clone)
    assert 'synthdive' in m.stdout
