"Training at the command line: resume after SIGKILL, torchrun with 2 processes, determinism, errors before any work."
import json, os, shutil, signal, subprocess, time
import pytest, torch, yaml
from conftest import run, BIN, TINY_SYNTH, ROOT

TINY_RUN = dict(data=dict(frames=4), model=dict(dsts=dict(neurons=4, group=2, ratios=[0.0, 0.5, 1.0])),
                train=dict(epochs=3, batch_size=8, progress=False))


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    from dsts.synth.cli import generate
    out = tmp_path_factory.mktemp('synth')
    generate(out, {**TINY_SYNTH, 'synthdive': dict(train_per_class=2, test_per_class=1)})
    return out


def params(tmp_path, synth, **over):
    cfg = json.loads(json.dumps(TINY_RUN))
    cfg['data']['root'] = str(synth/'synthdive')
    for k, v in over.items(): cfg[k] = {**cfg.get(k, {}), **v}
    p = tmp_path/'params.yaml'
    p.write_text(yaml.safe_dump(cfg))
    return p


def train_cli(p, out, *extra, check=True):
    return run([str(BIN/'dsts-train'), '--params', str(p), '--out', str(out), *extra], check=check)


def test_help_explains_every_option():
    for prog, opts in (
        (
            'dsts-train',
            ['--out', '--params', '--profile', '--pretrain', '--set', '--resume', '--print-config', 'torchrun'],
        ),
        ('dsts-eval', ['--data', '--dataset', '--split', '--clips', '--crops', '--out', '--device']),
    ):
        h = run([str(BIN / prog), '--help']).stdout
        for o in opts:
            assert o in h, (prog, o)


def test_same_seed_same_metrics_and_eval_from_checkpoint(tmp_path, synth):
    p = params(tmp_path, synth)
    train_cli(p, tmp_path/'a'); train_cli(p, tmp_path/'b')
    assert (tmp_path/'a/metrics.json').read_bytes() == (tmp_path/'b/metrics.json').read_bytes()
    r = run([str(BIN/'dsts-eval'), str(tmp_path/'a/checkpoint.pt'), '--out', str(tmp_path/'ev')])
    assert 'top1' in r.stdout
    m, e = json.loads((tmp_path/'a/metrics.json').read_text()), json.loads((tmp_path/'ev/metrics.json').read_text())
    assert e['top1'] == m['test']['top1'] and {
        'confusion.png',
        'class_neuron.png',
        'similarity.png',
        'attributes.png',
    } <= {f.name for f in (tmp_path / 'ev').iterdir()}


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, synth):
    p = params(tmp_path, synth, data=dict(frames=8), train=dict(epochs=4, batch_size=4))
    train_cli(p, tmp_path/'full')
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([str(BIN/'dsts-train'), '--params', str(p), '--out', str(tmp_path/'cut')],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    t0 = time.time()
    for line in proc.stdout:                       # wait for the end of epoch 2, then kill inside epoch 3
        if line.startswith('epoch 2/4'): break
        assert time.time() - t0 < 120, 'training did not reach epoch 2'
    while (
        not (tmp_path / 'cut/checkpoint.pt').exists()
        or torch.load(tmp_path / 'cut/checkpoint.pt', weights_only=True)['epoch'] < 2
    ):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL); proc.wait()
    ck = torch.load(tmp_path/'cut/checkpoint.pt', weights_only=True)
    assert ck['epoch'] == 2 and not (tmp_path/'cut/metrics.json').exists(), 'the kill did not land inside epoch 3'
    r = train_cli(p, tmp_path/'cut', '--resume')
    assert 'resumed from' in r.stdout and 'epoch 3/4' in r.stdout and 'epoch 1/4' not in r.stdout
    assert (tmp_path/'cut/metrics.json').read_bytes() == (tmp_path/'full/metrics.json').read_bytes()
    # a different config refuses the checkpoint, naming the key
    r = train_cli(p, tmp_path/'cut', '--resume', '--set', 'train.lr=0.2', check=False)
    assert r.returncode == 2 and 'train.lr: 0.05 (checkpoint) vs 0.2 (now)' in r.stderr


def test_torchrun_two_processes_match_one(tmp_path, synth):
    "gloo, 2 CPU processes, global batch 8 = 2 x 4: the per-epoch losses equal the 1-process run's within tolerance."
    p = params(
        tmp_path,
        synth,
        train=dict(epochs=2, batch_size=8),
        model=dict(dsts=dict(neurons=4, group=2, ratios=[0.0, 0.5, 1.0], gate='always_on')),
    )
    train_cli(p, tmp_path/'one')
    r = run(
        [
            str(BIN / 'torchrun'),
            '--standalone',
            '--nproc_per_node=2',
            '-m',
            'dsts.train',
            '--params',
            str(p),
            '--out',
            str(tmp_path / 'two'),
        ]
    )
    assert '(2 processes, cpu)' in r.stdout
    one, two = (json.loads((tmp_path/f'{n}/metrics.json').read_text())['history'] for n in ('one', 'two'))
    for a, b in zip(one, two):
        # BatchNorm statistics are per process (as with DDP without SyncBatchNorm), so the match is close, not exact
        assert abs(a['loss'] - b['loss']) < 0.02 * a['loss'], (a, b)
    assert one[0]['loss'] != one[1]['loss']


@pytest.mark.parametrize('over,msg', [
    (dict(train=dict(epochs='ten')), 'train.epochs: expected int'),
    (dict(model=dict(dsts=dict(neurons=0))), 'model.dsts.neurons must be an integer >= 1'),
    (dict(data=dict(root='/nonexistent/dive')), "/nonexistent/dive: data directory for 'synthdive' not found"),
    (dict(data=dict(dataset='kinetics400')), "data.dataset 'kinetics400' unknown"),
])
def test_bad_config_fails_before_any_work(tmp_path, synth, over, msg):
    p = params(tmp_path, synth, **over)
    r = train_cli(p, tmp_path/'out', check=False)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert not (tmp_path/'out').exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_asked_without_gpu(tmp_path, synth):
    r = train_cli(params(tmp_path, synth), tmp_path/'out', '--set', 'device=cuda', check=False)
    assert r.returncode == 2 and 'has no CUDA device' in r.stderr


@pytest.mark.cuda
def test_cuda_training_amp_channels_last(tmp_path, synth):
    p = params(tmp_path, synth, train=dict(epochs=1, batch_size=8))
    r = train_cli(p, tmp_path/'gpu', '--set', 'device=cuda')
    assert '(1 process, cuda' in r.stdout
    m = json.loads((tmp_path/'gpu/metrics.json').read_text())
    assert 0 <= m['test']['top1'] <= 1


def test_pilot_reads_validation_on_its_own_seeds_and_draws(tmp_path):
    """tools/pilot.py: each pilot seed trains on its own draw and reads the validation split alone (the test file is
    removed: it must not be opened), at the budget and at twice it; main seeds are refused before any work."""
    from dsts.synth.cli import generate
    generate(tmp_path/'synth', {**TINY_SYNTH, 'synthdive': dict(train_per_class=1, test_per_class=1, val_per_class=1,
                                                                   draws=3)}, only=('synthdive',))
    (tmp_path/'synth/synthdive/Diving48_V2_test.json').unlink()
    root = str(tmp_path/'synth/synthdive')
    P = dict(TINY_RUN, pipeline=dict(seeds=[0]), variants=dict(backbone=dict(model=dict(dsts=dict(enabled=False)))),
             datasets=dict(synthdive=dict(data=dict(root=root, mode='uniform', val_split=True, per_seed_draw=True),
                                          train=dict(epochs=1))))
    (tmp_path/'params.yaml').write_text(yaml.safe_dump(P))
    pilot = [str(BIN/'python'), str(ROOT/'tools/pilot.py'), '--params', 'params.yaml', '--dataset', 'synthdive',
             '--rows', 'backbone', '--epochs', '1', '--jobs', '1']
    bad = run(pilot + ['--seeds', '0', '2'], cwd=tmp_path, check=False)
    assert bad.returncode == 2 and 'are main seeds (pipeline.seeds)' in bad.stderr
    run(pilot + ['--seeds', '1', '2', '--twice'], cwd=tmp_path)
    e1, e2 = (json.loads((tmp_path/f'results/pilot/synthdive/backbone-e{e}.json').read_text()) for e in (1, 2))
    assert sorted(e1['val']) == sorted(e2['val']) == ['1', '2'] and 'val_top1' in e1['seeds']['1'][0]
    assert [len(c) for c in e2['seeds'].values()] == [2, 2] and 'val_top1' not in e2['seeds']['1'][0]   # final only
    assert e1['benchmark'] == json.loads((tmp_path/'synth/synthdive/version.json').read_text())   # what it read
    nval = len(json.loads((tmp_path/'synth/synthdive/Diving48_V2_validation.json').read_text()))
    for e in (e1, e2):   # one character per validation clip, as many right as the top-1 says
        for s, c in e['correct'].items():
            assert len(c) == nval and set(c) <= {'0', '1'} and abs(c.count('1') / nval - e['val'][s]) < 1e-5
    assert 'recorded already' in run(pilot + ['--seeds', '1', '2'], cwd=tmp_path).stdout
    ck = tmp_path/'artifacts/pilot/synthdive/backbone-e1/seed1/checkpoint.pt'   # the runs are kept ...
    stamp = ck.stat().st_mtime_ns
    (tmp_path/'results/pilot/synthdive/backbone-e1.json').unlink()
    run(pilot + ['--seeds', '1', '2'], cwd=tmp_path)         # ... and a rerun resumes them: finished, read back
    again = json.loads((tmp_path/'results/pilot/synthdive/backbone-e1.json').read_text())
    assert ck.stat().st_mtime_ns == stamp and (again['val'], again['seeds']) == (e1['val'], e1['seeds'])
    rec = tmp_path/'results/pilot/synthdive/backbone-e1.json'   # a record grows seed by seed, across interruptions:
    rec.unlink(); run(pilot + ['--seeds', '1'], cwd=tmp_path)
    assert sorted(json.loads(rec.read_text())['val']) == ['1']
    shutil.rmtree(ck.parent)                                    # seed 1 now lives in the record alone ...
    run(pilot + ['--seeds', '1', '2'], cwd=tmp_path)            # ... and is kept from it, not trained again
    grown = json.loads(rec.read_text())
    assert not ck.parent.exists() and (grown['val'], grown['seeds']) == (e1['val'], e1['seeds'])
    other = run([str(BIN/'python'), str(ROOT/'tools/learning_curve.py'), '--params', 'params.yaml', '--dataset',
                 'synthdive', '--epochs', '1', '--seeds', '0', '--set', 'data.flip=false', '--out', str(rec)],
                cwd=tmp_path, check=False)                      # another measurement never mixes into it
    assert other.returncode == 1 and f'{rec} exists with other settings (sets:' in other.stderr
    assert json.loads(rec.read_text()) == grown


def test_val_again_reads_finished_runs_on_a_larger_validation_split(tmp_path):
    """tools/val_again.py: a pilot's finished runs read again on another render's larger validation split, one
    character per clip; on their own split they read what their record says; a record of other runs is refused and
    nothing is written."""
    from dsts.synth.cli import generate
    for name, nval in (('synth', 1), ('big', 3)):
        generate(tmp_path/name, {**TINY_SYNTH, 'synthdive': dict(train_per_class=1, test_per_class=1,
                                                                  val_per_class=nval, draws=3)}, only=('synthdive',))
    P = dict(TINY_RUN, pipeline=dict(seeds=[0]), variants=dict(backbone=dict(model=dict(dsts=dict(enabled=False)))),
             datasets=dict(synthdive=dict(data=dict(root=str(tmp_path/'synth/synthdive'), mode='uniform',
                                                    val_split=True, per_seed_draw=True), train=dict(epochs=1))))
    (tmp_path/'params.yaml').write_text(yaml.safe_dump(P))
    run([str(BIN/'python'), str(ROOT/'tools/pilot.py'), '--params', 'params.yaml', '--dataset', 'synthdive', '--rows',
         'backbone', '--epochs', '1', '--jobs', '1', '--seeds', '1', '2'], cwd=tmp_path)
    rec = tmp_path/'results/pilot/synthdive/backbone-e1.json'
    again = [str(BIN/'python'), str(ROOT/'tools/val_again.py'), '--work', 'artifacts/pilot/synthdive/backbone-e1']
    run(again + ['--root', 'big/synthdive', '--record', str(rec), '--out', 'big.json'], cwd=tmp_path)
    big = json.loads((tmp_path/'big.json').read_text())
    nval = len(json.loads((tmp_path/'big/synthdive/Diving48_V2_validation.json').read_text()))
    assert nval == 3 * 48 and big['clips'] == nval and sorted(big['correct']) == ['1', '2']
    assert big['benchmark'] == json.loads((tmp_path/'big/synthdive/version.json').read_text())
    for s, c in big['correct'].items():
        assert len(c) == nval and set(c) <= {'0', '1'} and c.count('1') / nval == big['val'][s]
    run(again + ['--root', 'synth/synthdive', '--out', 'own.json'], cwd=tmp_path)   # its own split: the record's
    assert json.loads((tmp_path/'own.json').read_text())['correct'] == json.loads(rec.read_text())['correct']
    other = json.loads(rec.read_text())
    other['correct']['1'] = ''.join('1' if c == '0' else '0' for c in other['correct']['1'])
    (tmp_path/'other.json').write_text(json.dumps(other))
    bad = run(again + ['--root', 'big/synthdive', '--record', 'other.json', '--out', 'no.json'], cwd=tmp_path,
              check=False)
    assert bad.returncode == 1 and "seed 1's checkpoint does not read" in bad.stderr
    assert not (tmp_path/'no.json').exists()
    bad = run(again[:2] + ['--work', 'nowhere', '--root', 'big/synthdive', '--out', 'no.json'], cwd=tmp_path,
              check=False)
    assert bad.returncode == 1 and '--work nowhere: no seed<k>/checkpoint.pt' in bad.stderr
