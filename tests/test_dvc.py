"""DVC on a fresh clone with no remote configured by the user: status, pull and repro all succeed, and
a second repro does nothing. Runs the real dvc.yaml's `synth` stage with tiny params in a temporary clone
(every other stage, and a no-op second `dvc repro` of the whole graph, is in test_pipeline.py)."""
import functools, json, os, shutil
import pytest, yaml
from pathlib import Path
from conftest import run, clone_working_tree, TINY_SYNTH, BIN, ROOT, headless_chromium, needs_chromium


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


def test_make_repro_rebuilds_missing_outputs(clone):
    """A fresh clone holds the committed results but no artifacts (they are not kept in git): `make repro`'s runner,
    tools/repro.py, must rebuild them (`dvc repro --pull` skipped such a stage: it allows missing outputs), time the
    run, and say whether the committed tables were reproduced."""
    shutil.rmtree(clone/'artifacts'/'synth')
    p = run([str(BIN/'python'), 'tools/repro.py', 'synth'], cwd=clone)
    assert (clone/'artifacts'/'synth'/'synthdive'/'Diving48_V2_train.json').exists(), p.stdout
    rec = json.loads((clone/'results'/'repro-time.json').read_text())['full']
    assert rec['dvc_repro_s'] > 0 and rec['cpus'] == os.cpu_count()
    # only `synth` ran; the committed tables are untouched
    assert rec['stages'] == 1 and rec['tables_identical'] is True
    assert 'results/tables and results/results.md identical to the commit' in p.stdout   # the same-machine note
    assert '== make repro: 1 stages ran' in p.stdout                                    # the closing summary:
    assert all(f"{c:8s} synthdive (" in p.stdout for c in ('C1', 'control', 'C2'))     # each claim's verdict
    assert 'compared with the committed results: 0 of 5 rows' in p.stdout.split('== make repro')[1]
    assert rec['rows_beyond_ci'] == 0 and rec['verdicts_flipped'] == 0
    run([str(BIN/'python'), 'tools/repro.py', 'synth'], cwd=clone)   # again: nothing to do, recorded apart
    assert json.loads((clone/'results'/'repro-time.json').read_text())['noop']['stages'] == 0


def _stage_code_deps(stage: str) -> set:
    "The dsts files and folders a stage of dvc.yaml lists as dependencies."
    spec = yaml.safe_load((ROOT/'dvc.yaml').read_text())['stages'][stage]
    deps = (spec.get('do') or spec)['deps']
    return {d for d in deps if d.startswith('dsts/')}


@functools.cache
def _imported_modules(module: str) -> frozenset:
    "The files of the dsts package that importing `module` loads (in a fresh interpreter)."
    code = (f"import sys, {module}; print('\\n'.join(m.__file__ for n, m in sys.modules.items() "
            "if n.startswith('dsts') and getattr(m, '__file__', None)))")
    files = run([str(BIN/'python'), '-c', code], cwd=ROOT).stdout.split()
    return frozenset(str(Path(f).resolve().relative_to(ROOT)) for f in files)


def covered(f: str, deps: set) -> bool:
    return f in deps or any(f.startswith(d + '/') for d in deps) or f.endswith('dsts/__init__.py')


@pytest.mark.parametrize('stage, module', [('train', 'dsts.train'), ('ablate', 'dsts.train'), ('search', 'dsts.train'),
                                           ('evaluate', 'dsts.evaluate'), ('evaluate', 'dsts.summary'),
                                           ('tables', 'dsts.report')])
def test_each_stage_depends_on_the_modules_it_runs(stage, module):
    deps = _stage_code_deps(stage)
    missing = [f for f in _imported_modules(module) if not covered(f, deps)]
    assert not missing, f"stage {stage} runs {missing} but dvc.yaml does not list them"
    # and nothing it does not run: a plot or the generator re-runs no training
    if stage in ('train', 'ablate', 'search'):
        assert not deps & {'dsts', 'dsts/evaluate.py', 'dsts/synth'}, deps
    if stage == 'evaluate': assert not deps & {'dsts/train.py', 'dsts/report.py'}, deps   # checkpoints, not the loop


def test_pretrain_stage_depends_on_every_pretrained_variant():
    """DVC cannot template a stage's params from a list: the pretrain stage names each variant of pipeline.pretrain
    (and of pipeline.all_pretrain, which `make repro-full` sets as pipeline.pretrain) itself."""
    params = yaml.safe_load((ROOT/'params.yaml').read_text())
    listed = yaml.safe_load((ROOT/'dvc.yaml').read_text())['stages']['pretrain']['do']['params']
    pre = params['pipeline']['pretrain'] + params['pipeline']['all_pretrain']
    missing = [v for v in pre if f'variants.{v}' not in listed]
    assert not missing, f"dvc.yaml stage pretrain: add {', '.join(f'variants.{v}' for v in missing)} to its params"
    assert all(v in params['variants'] for v in pre)


def test_complete_set_pretrains_every_backbone_it_fine_tunes(tmp_path):
    "Every row of `make repro-full` finds a pretrained backbone (a missing one stopped it at table 7's first "
    "TimeSformer row)."
    from dsts.config import pipeline_config
    params = yaml.safe_load((ROOT/'params.yaml').read_text())
    # the params as repro-full sets them (pipeline_config reads a file)
    full, pl = tmp_path/'params.yaml', params['pipeline']
    full.write_text(
        yaml.safe_dump({**params, 'pipeline': {**pl, 'pretrain': pl['all_pretrain'], 'ablations': pl['all_ablations']}})
    )
    for ds in pl['datasets']:
        for v in pl['main'] + (pl['all_ablations'] if ds in pl['ablation_dataset'] else []):
            assert pipeline_config(str(full), ds, v)['model']['init'].endswith('checkpoint.pt'), (ds, v)


def test_repro_compares_a_run_with_the_committed_results_statistically(tmp_path, monkeypatch):
    """Another CPU sums in another order: `tools/repro.py` reads a rerun against the commit by the rows that moved
    beyond their interval and the verdicts that changed, not byte for byte."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('repro', ROOT/'tools'/'repro.py')
    repro = importlib.util.module_from_spec(spec); spec.loader.exec_module(repro)
    monkeypatch.setattr(repro, 'ROOT', tmp_path)
    git = lambda *a: run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *a], cwd=tmp_path)
    def write(rows, verdict):
        for name, top1 in rows.items():
            (tmp_path/'results/runs'/name).mkdir(parents=True, exist_ok=True)
            (tmp_path / 'results/runs' / name / 'metrics.json').write_text(
                json.dumps(dict(seeds=3, top1=top1, top1_std=0.01))
            )
        (tmp_path/'results/tables').mkdir(parents=True, exist_ok=True)
        word, _, note = verdict.partition(' (')
        (tmp_path / 'results/tables/claims.csv').write_text(
            f'claim,dataset,a,b,verdict,note\nC1,d,x,y,{word},{note[:-1]}\n'
        )
    git('init', '-q')
    write({'d-a': 0.50, 'd-b': 0.60}, 'holds')
    git('add', '-A')
    git('commit', '-qm', 'committed run')
    write({'d-a': 0.505, 'd-b': 0.70}, 'inconclusive (not converged: x)')   # a: float noise; b: moved 10 points
    out = repro.compare()
    assert [r['row'] for r in out['rows_beyond_ci']] == ['d-b'] and out['rows'] == 2
    assert [(f['committed'], f['now']) for f in out['verdicts_flipped']] == [('holds', 'inconclusive')]   # the fields
    # the record names the commit it compared with
    repro.main(['--compare', str(tmp_path/'cmp.json'), '--label', 'fp32'])
    rec, head = json.loads((tmp_path / 'cmp.json').read_text()), run(
        ['git', 'rev-parse', '--short', 'HEAD'], cwd=tmp_path
    )
    assert rec['against'] == head.stdout.strip() and rec['label'] == 'fp32' and len(rec['rows_beyond_ci']) == 1
    write({'d-a': 0.50, 'd-b': 0.60}, 'holds (not converged: y)')            # the same verdict, another note: no flip
    assert repro.compare()['verdicts_flipped'] == [] and repro.compare()['rows_beyond_ci'] == []


def test_float_check_reruns_the_committed_commit_on_another_float_path_in_a_resumable_clone(tmp_path, monkeypatch):
    """`make repro-check`: a clone of HEAD with only the float path changed (default: two threads per run; fp32: no
    bf16) runs the pipeline (tools/repro.py), then compares it with the committed results into
    results/reproduction/<kind>.json; a rerun reuses the clone, another commit or an unknown kind is refused."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('repro', ROOT/'tools'/'repro.py')
    repro = importlib.util.module_from_spec(spec); spec.loader.exec_module(repro)
    src = tmp_path/'src'
    (src/'tools').mkdir(parents=True)
    (src/'params.yaml').write_text('# a comment\ntrain: {lr: 0.004, label_smoothing: 0.1}\nseed: 0\n'
                                   'pipeline: {jobs: 3, threads: 1, seeds: [0, 1]}\n')
    (src/'tools'/'repro.py').write_text(   # stands in for the pipeline: logs its arguments and the float path it saw
        'import sys, yaml\nP = yaml.safe_load(open("params.yaml"))\n'
        'open("calls.log", "a").write(repr((sys.argv[1:], P["train"].get("amp"), P["train"]["lr"], P["pipeline"])) + '
        '"\\n")\n')
    git = lambda *a, cwd=src: run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *a], cwd=cwd)
    git('init', '-q'); git('add', '-A'); git('commit', '-qm', 'results')
    monkeypatch.setattr(repro, 'ROOT', src)
    for kind, amp, pipeline in [('threads', None, {'jobs': 1, 'threads': 2, 'seeds': [0, 1]}),
                                ('fp32', False, {'jobs': 3, 'threads': 1, 'seeds': [0, 1]})]:
        work = tmp_path/kind
        assert repro.float_check(kind, work) == 0 and repro.float_check(kind, work) == 0   # the second run resumes
        calls = [eval(l) for l in (work/'calls.log').read_text().splitlines()]
        out = str(src/'results'/'reproduction'/f'{kind}.json')
        assert calls[:2] == [
            ([], amp, 0.004, pipeline),
            (['--compare', out, '--label', calls[1][0][3]], amp, 0.004, pipeline),
        ]
        assert len(calls) == 4 and calls[1][0][3] == repro.CHECKS[kind][1]
    assert repro.main(['--check', 'threads', '--check-dir', str(tmp_path/'threads')]) == 0   # the CLI, resuming
    with pytest.raises(SystemExit, match="unknown float-path check 'fp16'"): repro.float_check('fp16', tmp_path/'x')
    (src/'x').write_text('another commit'); git('add', '-A'); git('commit', '-qm', 'later')
    with pytest.raises(SystemExit, match='another commit'): repro.float_check('fp32', tmp_path/'fp32')


def test_metrics_and_experiments_fit_a_terminal_of_120_columns():
    """What DVC shows of the committed results reads at a glance: `dvc metrics show` and `dvc metrics diff` print the
    top-1 of every row of table 1 that a claim compares within 120 columns, and so does `make exp-show` (the README's
    `dvc exp show`)."""
    env = {'COLUMNS': '120'}
    from dsts.report import claim_rows
    rows = claim_rows(yaml.safe_load((ROOT/'params.yaml').read_text()))   # the rows a claim compares
    for cmd in (['dvc', 'metrics', 'show'], ['dvc', 'metrics', 'diff', 'HEAD', '--all'], ['make', '-s', 'exp-show']):
        out = run([str(BIN/cmd[0]) if cmd[0] == 'dvc' else cmd[0], *cmd[1:]], env=env).stdout
        wide = [l for l in out.splitlines() if len(l) > 120]
        assert not wide, f"{' '.join(cmd)}: lines over 120 columns:\n" + '\n'.join(wide)
        assert all(r in out for r in rows) and '…' not in out, f"{' '.join(cmd)} lost a column:\n{out}"


@needs_chromium
def test_plots_draw_offline_in_headless_chromium(tmp_path):
    """`dvc plots show` writes a page that draws with no network: DVC's template is .dvc/plots/offline.html, with
    Vega, Vega-Lite and Vega-Embed inline (tools/plots_template.py). Every row's held-out curve draws an SVG or a
    canvas, every figure of the pipeline loads, and the page asks for nothing outside the file."""
    run([str(BIN/'dvc'), 'plots', 'show', '-o', str(tmp_path)])
    page = (tmp_path/'index.html').read_text()
    assert 'cdn.jsdelivr' not in page and '<script src=' not in page   # every script inline
    drv = headless_chromium()
    try:
        drv.get((tmp_path/'index.html').as_uri())
        drv.set_script_timeout(30)
        state = drv.execute_async_script("""
            const done = arguments[arguments.length - 1], t0 = Date.now(), want = arguments[0];
            (function poll() {
              const drawn = [...document.querySelectorAll('.vega-embed')].filter(d => d.querySelector('svg, canvas'));
              const imgs = [...document.images];
              const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
              if ((drawn.length == want && ok.length == imgs.length) || Date.now() - t0 > 20000)
                done({drawn: drawn.length, imgs: imgs.length, ok: ok.length});
              else setTimeout(poll, 200);
            })();""", page.count("vegaEmbed('#"))
        errors = [e for e in drv.get_log('browser') if e['level'] == 'SEVERE']
    finally:
        drv.quit()
    pl = yaml.safe_load((ROOT/'params.yaml').read_text())['pipeline']   # the rows of the train and ablate stages
    rows = len(pl['datasets']) * len(pl['main']) + len(pl['ablation_dataset']) * len(pl['ablations'])   # a plot each
    assert page.count("vegaEmbed('#") == rows and state['drawn'] == rows, state
    assert state['imgs'] >= 4 and state['ok'] == state['imgs'], state
    assert not errors, errors


def test_the_readme_experiment_is_one_dvc_runs(clone):
    """The README's experiment (`dvc exp run -n e8 -S ...`, half the budget) is one DVC takes on a fresh clone: queued
    (the run itself is the whole pipeline), it is named and carries the changed budget; then it is removed."""
    cmd = next(l.split('#')[0].split() for l in (ROOT/'README.md').read_text().splitlines()
               if l.startswith('dvc exp run -n '))
    name, sets = cmd[cmd.index('-n') + 1], [cmd[i + 1] for i, a in enumerate(cmd) if a == '-S']
    run([str(BIN/'dvc'), 'exp', 'run', '--queue', *cmd[3:]], cwd=clone)
    try:
        shown = json.loads(run([str(BIN/'dvc'), 'exp', 'show', '--no-pager', '--json'], cwd=clone).stdout)
        exp = next(r for b in shown for e in (b.get('experiments') or []) for r in e['revs'] if r['name'] == name)
        params = exp['data']['params']['params.yaml']['data']
        for kv in sets:
            key, value = kv.split('=')
            assert functools.reduce(lambda d, k: d[k], key.split('.'), params) == yaml.safe_load(value), kv
    finally:
        run([str(BIN/'dvc'), 'exp', 'remove', '--queue'], cwd=clone)
