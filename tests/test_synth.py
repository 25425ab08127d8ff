"""The synthetic benchmarks end to end: the command line, determinism of the written bytes,
atomic replacement when a run is killed, and the files read back through the real-data loaders."""
import hashlib, json, os, signal, subprocess, sys, time, warnings
from pathlib import Path
import pytest, torch, yaml
from conftest import run, TINY_SYNTH, BIN
from dsts.synth.cli import generate
from dsts.data.datasets import read_annotations, VideoDataset, VideoLoader
from dsts.data.transforms import ClipTransform


def digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob('*'))
        if p.is_file()
    }


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')
    generate(out, TINY_SYNTH)
    return out


def test_help_explains_every_option():
    p = run([str(BIN/'dsts-synth'), '--help'])
    for opt in ('--params', '--out', '--only', '--seed', '--frames', '--size', '--workers', '--times'):
        assert opt in p.stdout


def test_cli_reads_params_and_overrides(tmp_path):
    (tmp_path/'params.yaml').write_text(yaml.safe_dump({'synth': TINY_SYNTH}))
    p = run([str(BIN/'dsts-synth'), '--params', str(tmp_path/'params.yaml'), '--out', str(tmp_path/'out'),
             '--only', 'synthdive', '--size', '64', '--times', str(tmp_path/'t.json')])
    assert 'synthdive' in p.stdout and set(json.loads((tmp_path/'t.json').read_text())) == {'synthdive'}
    ann = read_annotations('synthdive', tmp_path/'out'/'synthdive', 'train')
    x, _ = VideoDataset(ann, frames=4, transform=ClipTransform(64))[0]
    assert x.shape == (3, 4, 64, 64)
    assert not (tmp_path/'out'/'synthsomething').exists()


def test_cli_bad_params_name_the_key(tmp_path):
    (tmp_path/'params.yaml').write_text(yaml.safe_dump({'synth': {'frams': 8}}))
    p = run([str(BIN/'dsts-synth'), '--params', str(tmp_path/'params.yaml'), '--out', str(tmp_path/'o')], check=False)
    assert p.returncode == 2 and "unknown key 'frams'" in p.stderr and "did you mean 'frames'" in p.stderr
    assert not (tmp_path/'o').exists()


@pytest.fixture
def busy_cpu():
    "A background process that keeps a core busy, as on a shared CI machine."
    p = subprocess.Popen([sys.executable, '-c', 'while True: pass'])
    try: yield p
    finally: p.kill(); p.wait()


def test_same_seed_same_bytes_under_load_any_workers(tiny, tmp_path, busy_cpu):
    time.sleep(1.1)   # a container that stamped the time would now differ
    ref = digest(tiny)
    for i, workers in enumerate((1, 2, 2)):      # three more generations beside a busy core
        generate(tmp_path/f'again{i}', {**TINY_SYNTH, 'workers': workers})
        again = digest(tmp_path/f'again{i}')
        assert again.keys() == ref.keys()
        assert [f for f in ref if ref[f] != again[f]] == [], f'generation {i} (workers={workers}) differs'
    generate(tmp_path/'other', {**TINY_SYNTH, 'seed': 1}, only=('synthdive',))
    a, b = digest(tiny/'synthdive'), digest(tmp_path/'other'/'synthdive')
    assert a.keys() == b.keys() and a['Diving48_vocab.json'] == b['Diving48_vocab.json']
    assert sum(a[k] != b[k] for k in a if k.startswith('rgb/')) == sum(k.startswith('rgb/') for k in a)


def test_killed_generation_leaves_the_previous_dataset_intact(tiny, tmp_path):
    out = tmp_path/'synth'
    generate(out, TINY_SYNTH, only=('synthdive',))
    before = digest(out/'synthdive')
    big = {**TINY_SYNTH, 'seed': 5, 'synthdive': dict(train_per_class=40, test_per_class=10)}
    (tmp_path/'params.yaml').write_text(yaml.safe_dump({'synth': big}))
    p = subprocess.Popen(
        [str(BIN / 'dsts-synth'), '--params', str(tmp_path / 'params.yaml'), '--out', str(out), '--only', 'synthdive'],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.glob('.synthdive.*.tmp/rgb/*.mp4')): time.sleep(0.1)
    assert list(out.glob('.synthdive.*.tmp/rgb/*.mp4')), 'generation did not start writing'
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert digest(out/'synthdive') == before          # the complete old copy is untouched
    generate(out, TINY_SYNTH, only=('synthdive',))      # the next run cleans up the leftovers
    assert sorted(x.name for x in out.iterdir()) == ['synthdive']


def test_loaders_read_both_benchmarks_with_workers(tiny):
    for name, classes in (('synthdive', 48), ('synthsomething', 18)):
        ann = read_annotations(name, tiny/name, 'train')
        assert len(ann.classes) == classes
        ds = VideoDataset(ann, frames=8, transform=ClipTransform(32, crop='random', flip=ann.mirror_safe))
        batches = list(VideoLoader(ds, batch_size=16, workers=2, seed=0))
        x, y = batches[0]
        assert x.shape == (16, 3, 8, 32, 32) and x.dtype == torch.float32
        assert sum(len(b[1]) for b in batches) == len(ann)
        assert torch.isfinite(x).all() and x.std() > 0.1


def test_skip_bad_counts_a_broken_video_in_a_generated_benchmark(tiny, tmp_path):
    import shutil
    root = tmp_path/'sd'; shutil.copytree(tiny/'synthdive', root)
    ann = read_annotations('synthdive', root, 'test')
    ann.records[3].path.write_bytes(b'')
    with pytest.raises(Exception, match='empty'):
        list(VideoLoader(VideoDataset(ann, frames=4, transform=ClipTransform(32)), batch_size=8, workers=2))
    loader = VideoLoader(
        VideoDataset(ann, frames=4, transform=ClipTransform(32), skip_bad=True), batch_size=8, workers=2
    )
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        n = sum(len(y) for _, y in loader)
    assert n == len(ann) - 1 and len(loader.skipped) == 1
    assert any('skipped 1 of 48 items' in str(m.message) for m in w)
