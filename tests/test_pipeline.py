"""Pipeline smoke test: a tiny profile through every stage (synth -> search -> train/ablate -> evaluate -> tables) in a
temporary clone, with the real-data profiles (Diving48 and SSv2 formats) pointed at tiny synthetic data on the CPU."""
import json, shutil
import yaml
from conftest import run, ROOT, BIN, TINY_SYNTH


def tiny_profile(name, root):
    return dict(device='cpu', data=dict(dataset=name, root=root, frames=4, size=32, short_side=None, test_clips=1, test_crops='center',
                                        cache=True, workers=0),
                model=dict(backbone='tsm_tiny', pretrained=False), train=dict(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0))


def test_pipeline_end_to_end_on_real_data_profiles(tmp_path):
    repo = tmp_path/'repo'
    run(['git', 'clone', '-q', str(ROOT), str(repo)])
    for f in ('dvc.yaml', 'params.yaml'):             # the working tree's version, committed or not
        shutil.copy(ROOT/f, repo/f)
    for nb in (ROOT/'nbs/pipeline').glob('*.ipynb'): shutil.copy(nb, repo/'nbs/pipeline'/nb.name)
    shutil.copytree(ROOT/'dsts', repo/'dsts', dirs_exist_ok=True, ignore=shutil.ignore_patterns('__pycache__'))
    p = yaml.safe_load((repo/'params.yaml').read_text())
    p['synth'] = TINY_SYNTH
    p['model']['dsts'].update(neurons=4)
    p['pipeline'].update(seeds=[0, 1, 2], jobs=1, datasets=['diving48', 'ssv2'], main=['backbone', 'dsts'],
                         ablation_dataset=['diving48'], ablations=['n8'], search_epochs=1, eval=dict(clips=1, crops='three'))
    p['datasets']['diving48'] = tiny_profile('diving48', 'artifacts/synth/synthdive')
    p['datasets']['ssv2'] = tiny_profile('ssv2', 'artifacts/synth/synthsomething')
    p['variants']['n8']['model']['dsts']['neurons'] = 2
    (repo/'params.yaml').write_text(yaml.safe_dump(p, sort_keys=False))
    r = run([str(BIN/'dvc'), 'repro'], cwd=repo)
    for stage in ('search@diving48', 'train@ssv2-dsts', 'ablate@diving48-n8', 'evaluate@ssv2', 'tables'):
        assert f"Running stage '{stage}'" in r.stdout, stage
    m = json.loads((repo/'results/runs/diving48-dsts/metrics.json').read_text())
    assert m['seeds'] == 3 and 0 <= m['top1'] <= 1 and len(m['per_seed']) == 3
    assert (repo/'results/tables/1-main-ssv2.md').read_text().count('±') >= 6
    assert (repo/'results/tables/4-size-diving48.csv').exists() and (repo/'results/figures/arch-diving48.png').stat().st_size > 1000
    res = (repo/'results/results.md').read_text()
    assert 'C1 on diving48' in res and 'C2 on ssv2' in res
    e = json.loads((repo/'results/eval/diving48/metrics.json').read_text())
    assert e['views'] == dict(clips=1, crops='three') and set(e['attributes']) == {'takeoff', 'somersaults', 'twists', 'position'}
    assert 'Data and pipelines are up to date' in run([str(BIN/'dvc'), 'repro'], cwd=repo).stdout
    show = run([str(BIN/'dvc'), 'metrics', 'show'], cwd=repo).stdout
    assert 'results/runs/ssv2-backbone/metrics.json' in show
