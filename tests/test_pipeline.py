"""Pipeline smoke test: a tiny profile through every stage (synth -> search -> train/ablate -> evaluate -> tables) in a
temporary clone, on the real-data profiles: tiny synthetic data written in the Diving48 and SSv2 formats is put
where real data goes (data/diving48, data/ssv2), tracked with `dvc add data` as data/README.md says, and run on
the CPU. Then: a second `dvc repro` is a no-op, and changing one dataset invalidates that dataset's stages only."""
import json, shutil
import yaml
from conftest import run, clone_working_tree, BIN, TINY_SYNTH


def tiny_profile(name, root):
    return dict(
        device='cpu',
        data=dict(
            dataset=name,
            root=root,
            frames=4,
            size=32,
            short_side=None,
            test_clips=1,
            test_crops='center',
            cache=True,
            workers=0,
        ),
        model=dict(backbone='tsm_tiny', pretrained=False),
        train=dict(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0),
    )


def test_pipeline_end_to_end_on_real_data_profiles(tmp_path):
    repo = tmp_path/'repo'
    clone_working_tree(repo)
    dvc = lambda *a: run([str(BIN/'dvc'), *a], cwd=repo)
    p = yaml.safe_load((repo/'params.yaml').read_text())
    # a search holds out half of each class
    p['synth'] = {**TINY_SYNTH, 'synthdive': dict(train_per_class=2, test_per_class=1)}
    p['model']['dsts'].update(neurons=4)
    p['pipeline'].update(
        seeds=[0, 1, 2],
        jobs=1,
        datasets=['diving48', 'ssv2'],
        main=['backbone', 'dsts'],
        ablation_dataset=['diving48'],
        ablations=['n8'],
        search_epochs=1,
        eval=dict(clips=1, crops='three'),
        pretrain=['backbone'],
        pretrain_datasets=['diving48'],
        specialization=['dsts'],
    )
    p['datasets']['diving48'] = tiny_profile('diving48', 'data/diving48')
    p['datasets']['ssv2'] = tiny_profile('ssv2', 'data/ssv2')
    p['datasets']['diving48']['pretrain'] = dict(
        train=dict(epochs=1)
    )  # diving48's rows fine-tune from a pretrained backbone; ssv2 has no pretrain section: its rows start from scratch
    p['variants']['n8']['model']['dsts']['neurons'] = 2
    (repo/'params.yaml').write_text(yaml.safe_dump(p, sort_keys=False))
    dvc('pull')                                       # a fresh clone has no data/
    # SynthDive / SynthSomething are written in Diving48 / SSv2 formats
    dvc('repro', 'synth')
    for real, synth in (('diving48', 'synthdive'), ('ssv2', 'synthsomething')):
        shutil.copytree(repo/'artifacts/synth'/synth, repo/'data'/real)
    dvc('add', 'data')
    r = dvc('repro')
    # the terminal shows every epoch of every training stage with what is left, and every evaluated checkpoint
    for line in ('[pretrain diving48] backbone epoch 1/1', '[search diving48] seed2 epoch 1/1',
                 '[train ssv2-dsts] seed0 epoch 1/1', '[evaluate diving48] dsts multi-view seed 0'):
        assert line in r.stderr + r.stdout, (line, r.stderr[-3000:])
    assert (r.stderr + r.stdout).count('stage left ~') >= 3 * 3, r.stderr[-3000:]
    for stage in (
        'pretrain@diving48',
        'search@diving48',
        'train@ssv2-dsts',
        'ablate@diving48-n8',
        'evaluate@ssv2',
        'tables',
    ):
        assert f"Running stage '{stage}'" in r.stdout, stage
    m = json.loads((repo/'results/runs/diving48-dsts/metrics.json').read_text())
    assert m['seeds'] == 3 and 0 <= m['top1'] <= 1 and len(m['per_seed']) == 3
    # every row fine-tunes from the pretrained backbone
    assert m['init'] == 'artifacts/pretrain/diving48/backbone/checkpoint.pt'
    assert json.loads((repo/'results/pretrain/diving48.json').read_text())['variants']['backbone']['epochs'] == 1
    assert json.loads((repo/'results/runs/ssv2-dsts/metrics.json').read_text())['init'] is None
    assert (repo/'results/tables/1-main-ssv2.md').read_text().count('±') >= 4   # top-1 and mean class, 2 rows
    assert (repo / 'results/tables/4-size-diving48.csv').exists() and (
        repo / 'results/figures/arch-diving48.png'
    ).stat().st_size > 1000
    res = (repo/'results/results.md').read_text()
    assert '| C1 | diving48 |' in res and '| C2 | ssv2 |' in res       # every claim gets a paired verdict
    assert (repo/'results/tables/claims.csv').exists() and (repo/'results/figures/claims.png').stat().st_size > 1000
    e = json.loads((repo/'results/eval/diving48/metrics.json').read_text())
    assert e['views'] == dict(clips=1, crops='three') and set(e['attributes']) == {
        'takeoff',
        'somersaults',
        'twists',
        'position',
    }
    untrained = e['neurons']['dsts (untrained start)']
    # a fresh module: identity
    assert untrained['change'] == [0.0] * 3 and len(e['neurons']['dsts (trained)']['class_share']) == 3
    assert (repo/'results/figures/curves/rows-diving48.png').exists() and '### The answer' in res
    # one search per seed, and each seed's rows build their own seed's architecture
    arch = {k: json.loads((repo/f'artifacts/search/diving48/seed{k}/arch.json').read_text()) for k in (0, 1, 2)}
    assert arch[0] != arch[1] and arch[1] != arch[2]                                    # three draws, not one
    for k in (0, 1, 2):
        run_cfg = yaml.safe_load((repo/f'results/runs/ssv2-dsts/seeds/seed{k}/config.yaml').read_text())
        ssv2 = json.loads((repo/f'artifacts/search/ssv2/seed{k}/arch.json').read_text())
        assert run_cfg['model']['dsts']['arch'] == ssv2, k
        searched = json.loads((repo/'results/search/ssv2.json').read_text())['seeds'][str(k)]   # the stage's record
        assert searched == [[n['r'] for n in l['neurons']] for l in ssv2['layers']], k
    assert 'Data and pipelines are up to date' in dvc('repro').stdout
    # the search's learning curve (tools/search_curve.py) is the search stage's own run, recorded epoch by epoch
    run(
        [str(BIN / 'python'), 'tools/search_curve.py', '--dataset', 'diving48', '--epochs', '1', '--out', 'sc.json'],
        cwd=repo,
    )
    sc = json.loads((repo/'sc.json').read_text())
    assert [e['epoch'] for e in sc['curve']] == [1] and 0 <= sc['curve'][0]['test_top1'] <= 1
    a, b = sc['curve'][0]['arch'], json.loads((repo/'artifacts/search/diving48/seed0/arch.json').read_text())
    assert (a['ratios'], a['group'], [len(l['neurons']) for l in a['layers']]) == (b['ratios'], b['group'], [4, 4])
    assert max(abs(x - y) for la, lb in zip(a['layers'], b['layers']) for na, nb in zip(la['neurons'], lb['neurons'])
               for x, y in zip(na['p'], nb['p'])) < 0.01   # the same search (thread counts may differ: not bitwise)
    (repo/'sc.json').unlink()
    show = dvc('metrics', 'show').stdout   # one flat file per benchmark: each row's top-1 by name
    assert 'results/metrics/ssv2.json' in show and 'results/metrics/diving48.json' in show, show
    assert json.loads((repo/'results/metrics/ssv2.json').read_text())['dsts'] == round(
        100 * json.loads((repo/'results/runs/ssv2-dsts/metrics.json').read_text())['top1'], 2)
    # one dataset changes: its stages are out of date, the other dataset's are not
    (repo/'data/ssv2/NOTE.txt').write_text('a file added to ssv2\n')
    stale = dvc('status').stdout
    assert all(f'{s}@ssv2' in stale for s in ('search', 'train', 'evaluate')), stale
    assert '@diving48' not in stale, stale
    # a plot of the evaluation changes: the evaluation is out of date, no training run is
    (repo/'data/ssv2/NOTE.txt').unlink()
    ev = repo/'dsts/evaluate.py'
    ev.write_text(ev.read_text().replace("def plot_confusion(", "# a reader changed a plot\ndef plot_confusion(", 1))
    stale = dvc('status').stdout
    assert 'evaluate@' in stale, stale
    assert not any(s in stale for s in ('pretrain@', 'train@', 'ablate@', 'search@')), stale
    # a table or a figure of the results room changes: the tables are out of date, nothing else is
    ev.write_text(ev.read_text().replace('# a reader changed a plot\n', '', 1))
    rp = repo/'dsts/report.py'
    rp.write_text(rp.read_text().replace("def claims_figure(", "# a reader changed a figure\ndef claims_figure(", 1))
    stale = dvc('status').stdout
    assert 'tables' in stale and not any(s in stale for s in ('@diving48', '@ssv2')), stale
