#!/usr/bin/env python
"""`dvc repro`, timed: what `make repro` runs after its set-up.

Runs `dvc pull data.dvc` (a fresh clone lacks `data/`), then `dvc repro` with any arguments given after `--`, streams
its output, and records in `results/repro-time.json` (the README quotes it) the last run that reproduced something
(`full`: set-up, `dvc repro` and total seconds, the stages' CPU seconds, how many stages ran, whether the committed
tables came out identical) and the last that found everything up to date (`noop`). `--all-ablations` (`make
repro-full`) runs every ablation row as a DVC experiment and records it as `all_ablations`. Exits with DVC's status.

A rerun is read against the committed results **statistically** (`dsts.report.compare_runs`: rows beyond the 95%
Welch interval, verdicts that changed): another CPU or another number of threads sums in another order, and that is
what a result has to survive; byte-identical tables are a same-machine note. Not `dvc repro --pull`: it skips a stage
whose outputs are missing, and every output here is kept in git (`cache: false`), so a fresh clone would rebuild
nothing.
"""
import argparse, csv, io, json, os, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'results'/'repro-time.json'
# The float-path checks (`make repro-check CHECK=<kind>`): the overrides of params.yaml and the label of each.
# threads (default): every sum split over two threads, as another CPU splits it; fp32: no bf16. Their cost, and that
# two threads give other bits, are measured by bench/model_overhead.py, not stated here.
CHECKS = {'threads': ({'pipeline': {'threads': 2, 'jobs': 1}}, 'pipeline.threads: 2, jobs: 1 (every sum split over '
                      'two threads, as another CPU splits it), same CPU'),
          'fp32': ({'train': {'amp': False}}, 'train.amp: false, fp32 throughout (pretraining included), same CPU')}


def git(*args, cwd=None) -> str:
    "The output of a git command in `cwd` (default: the repository), stripped; raises if git fails."
    return subprocess.run(['git', *args], cwd=cwd or ROOT, capture_output=True, text=True, check=True).stdout.strip()


def committed(path: str, rev: str='HEAD') -> str|None:
    "The text of `path` at git revision `rev` (None if it was not committed)."
    r = subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=ROOT, capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def compare(rev: str='HEAD') -> dict:
    "The results in the working tree against those committed at `rev` (`dsts.report.compare_runs`)."
    from dsts.report import compare_runs, read_metrics   # here, not above: --help stays fast
    now, new, old = read_metrics(ROOT/'results/runs'), ROOT/'results/tables/claims.csv', committed(
        'results/tables/claims.csv', rev)
    before = {k: json.loads(t) for k in now for t in [committed(f'results/runs/{k}/metrics.json', rev)] if t}
    out = compare_runs(now, before, list(csv.DictReader(new.open())) if new.exists() else [],
                       list(csv.DictReader(io.StringIO(old))) if old else [])
    return out


def cpu_model() -> str:
    "The CPU's model name (/proc/cpuinfo; else platform's): a run on another CPU sums in another order."
    import platform
    info = Path('/proc/cpuinfo')
    names = [l.split(':', 1)[1].strip() for l in (info.read_text().splitlines() if info.exists() else [])
             if l.startswith('model name')]
    return names[0] if names else platform.processor() or 'unknown'


def precision_of_runs() -> dict:
    "How many seeds of the working tree's runs trained in each precision ('unrecorded' for runs older than the record)."
    seen = {}
    for p in (ROOT/'results'/'runs').glob('*/seeds/*/metrics.json'):
        k = json.loads(p.read_text()).get('precision', 'unrecorded')
        seen[k] = seen.get(k, 0) + 1
    return seen


def float_check(kind: str='threads', work: Path|None=None) -> int:
    """The float-path check (`make repro-check`): clone this commit into `work` (default: dsts-<kind>-<commit> in the
    temporary folder), run the default pipeline there with only `CHECKS[kind]` changed, and write its comparison with
    the committed results to results/reproduction/<kind>.json. The clone is kept: a rerun resumes stage by stage."""
    import tempfile, yaml
    from dsts.core import yaml_load   # reads 1e-3 as a number, as DVC does
    if kind not in CHECKS: sys.exit(f"unknown float-path check {kind!r}: one of {', '.join(CHECKS)}")
    (overrides, label), head = CHECKS[kind], git('rev-parse', 'HEAD')
    work = work or Path(tempfile.gettempdir())/f'dsts-{kind}-{head[:7]}'
    if not (work/'.git').exists(): git('clone', '-q', str(ROOT), str(work))
    if git('rev-parse', 'HEAD', cwd=work) != head:
        sys.exit(f"{work} holds a clone of another commit than {head[:7]}: remove it, or pass another folder")
    P = yaml_load((work/'params.yaml').read_text())
    for section, kv in overrides.items(): P[section].update(kv)   # (comments are lost in the throw-away clone only)
    (work/'params.yaml').write_text(yaml.safe_dump(P, sort_keys=False))
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    print(f"float-path check in {work} ({label}); stop and rerun it at will: finished stages are kept", flush=True)
    if subprocess.run([sys.executable, 'tools/repro.py'], cwd=work, env=env).returncode: return 1
    out = str(ROOT/'results'/'reproduction'/f'{kind}.json')
    return subprocess.run([sys.executable, 'tools/repro.py', '--compare', out, '--label', label], cwd=work,
                          env=env).returncode


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add = p.add_argument
    add('--started', type=float, help='UNIX time at which `make repro` started (its set-up counts from there)')
    add('--all-ablations', action='store_true', help='the default pipeline plus every row of pipeline.all_ablations '
        '(backbones of pipeline.all_pretrain pretrained) as a DVC experiment, recorded as all_ablations')
    add('--compare', metavar='JSON', help='run nothing: compare the working tree\'s results with the committed ones '
        '(rows beyond their interval, verdicts changed) into JSON, naming the commit (`against`)')
    add('--label', default='', help="with --compare: what this run changed (e.g. 'train.amp: false'; the README "
        'quotes it)')
    add('--check', choices=list(CHECKS), metavar='KIND', help='the float-path check: the default pipeline again in a '
        'clone of this commit, only the float path changed (threads | fp32) -> results/reproduction/KIND.json')
    add('--check-dir', metavar='DIR', help='with --check: the clone (default dsts-KIND-<commit> in the temporary '
        'folder; kept, so a rerun resumes)')
    add('dvc_args', nargs='*', help='passed to `dvc repro` or `dvc exp run` (after --)')
    a = p.parse_args(argv)
    if a.check: return float_check(a.check, Path(a.check_dir) if a.check_dir else None)
    if a.compare:
        rt = json.loads(OUT.read_text()).get('full', {}) if OUT.exists() else {}
        cmp = dict(label=a.label, against=git('rev-parse', '--short', 'HEAD'), float_path=precision_of_runs(),
                   cpu=cpu_model(), run_time=rt, **compare())
        from dsts.report import comparison_text
        print(comparison_text(cmp))
        Path(a.compare).parent.mkdir(parents=True, exist_ok=True)
        Path(a.compare).write_text(json.dumps(cmp, indent=1) + '\n'); return 0
    t0, dvc = time.time(), Path(sys.executable).parent/'dvc'
    if subprocess.run([dvc, 'pull', '-q', 'data.dvc'], cwd=ROOT).returncode: return 1
    cmd = [dvc, 'repro', *a.dvc_args]
    if a.all_ablations:
        import yaml
        pl = yaml.safe_load((ROOT/'params.yaml').read_text())['pipeline']
        cmd = [dvc, 'exp', 'run', '-S', f"pipeline.ablations=[{','.join(pl['all_ablations'])}]",
               '-S', f"pipeline.pretrain=[{','.join(pl['all_pretrain'])}]", *a.dvc_args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stages = 0
    for line in proc.stdout:
        sys.stdout.write(line); sys.stdout.flush()
        stages += line.startswith('Running stage ')
    if proc.wait(): return proc.returncode
    t1, changed, repo = time.time(), None, (ROOT/'.git').exists()
    if stages and not a.all_ablations and repo:   # deterministic data and training: the committed tables again?
        changed = [l[3:] for l in subprocess.run(['git', 'status', '--porcelain', '--', 'results/tables',
                   'results/results.md'], cwd=ROOT, capture_output=True, text=True).stdout.split('\n') if l.strip()]
        print('same-machine note: results/tables and results/results.md ' + (
            f"differ from the commit in {len(changed)} files ({', '.join(changed[:4])}"
            f"{' ...' if len(changed) > 4 else ''}): `git diff results/` shows how" if changed else
            'identical to the commit'))
    rec, setup = json.loads(OUT.read_text()) if OUT.exists() else {}, round(t0 - a.started, 1) if a.started else None
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)   # CPU seconds of DVC and every process it waited for
    cmp = compare() if stages and repo else None
    rec['all_ablations' if a.all_ablations else 'full' if stages else 'noop'] = dict(
        setup_s=setup, dvc_repro_s=round(t1 - t0, 1), total_s=round(t1 - (a.started or t0), 1),
        cpu_s=round(ru.ru_utime + ru.ru_stime, 1), cpus=os.cpu_count(), cpu=cpu_model(), stages=stages,
        tables_identical=None if changed is None else not changed,
        rows_beyond_ci=None if cmp is None else len(cmp['rows_beyond_ci']),
        verdicts_flipped=None if cmp is None else len(cmp['verdicts_flipped']))
    tmp = OUT.with_suffix('.tmp'); tmp.write_text(json.dumps(rec, indent=1) + '\n'); tmp.replace(OUT)
    print(f"{'dvc exp run' if a.all_ablations else 'dvc repro'}: {t1 - t0:.1f} s" +
          (f" (set-up before it {setup:.1f} s)" if setup is not None else '') + f" -> {OUT.relative_to(ROOT)}")
    print(summary(stages, t1 - (a.started or t0), cmp))
    return 0


def summary(stages: int, seconds: float, cmp: dict|None) -> str:
    "The end of `make repro`: what ran and how long, each claim's verdict, and how the run compares with the commit."
    from dsts.core import duration
    from dsts.report import claim_lines, comparison_text
    p = ROOT/'results'/'tables'/'claims.csv'
    return '\n'.join([f"\n== make repro: {stages} stages ran, {duration(seconds)} in all",
                      *claim_lines(list(csv.DictReader(p.open())) if p.exists() else []),
                      *([comparison_text(cmp)] if cmp is not None else [])])

if __name__ == '__main__': sys.exit(main())
