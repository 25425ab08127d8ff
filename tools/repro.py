#!/usr/bin/env python
"""`dvc repro`, timed: what `make repro` runs after its set-up.

Runs `dvc pull data.dvc` (a fresh clone lacks `data/`, on which the dataset stages depend), then `dvc repro` with any
arguments given after `--`, streams its output, and records the wall-clock times in
`results/repro-time.json`, which the README quotes (numbers measured, never typed): the last run that
reproduced something (`full`: set-up, `dvc repro` and total wall-clock seconds, the CPU seconds of the stages, how many
stages ran, and whether the committed tables came out identical) and the last run that found everything up to
date (`noop`). With `--all-ablations` (what `make repro-full` runs) it runs every ablation row as a DVC experiment,
`dvc exp run -S pipeline.ablations=<pipeline.all_ablations> -S pipeline.pretrain=<pipeline.all_pretrain>` (the extra
backbones to pretrain re-run every stage after `pretrain`), and records it as `all_ablations`.
Exits with DVC's status; on failure the file is left as it was.

A run's results are compared with the committed ones **statistically** (`compare`): every row of table 1 whose mean
top-1 differs from the committed mean by more than the 95% interval of the difference of two means over the seeds
(Welch), and every claim whose verdict changed. Training is bitwise deterministic only on one CPU: another CPU, or
another number of threads (`pipeline.threads`), sums in another order, and the runs drift apart by float noise.
That is what a result has to survive. Whether the tables came out byte-identical is kept as a same-machine note.

Not `dvc repro --pull`: with `--pull` DVC skips a stage whose outputs are missing but whose dependencies are
unchanged (it allows missing outputs), and every output here is kept in git, not in a DVC cache (`cache: false`),
so on a fresh clone it ran nothing and left no artifacts. Without it a fresh clone rebuilds every stage, and the
end of the run says whether the tables came out identical to the committed ones.
"""
import argparse, csv, io, json, math, os, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'results'/'repro-time.json'

def git(*args, cwd=None) -> str:
    "The output of a git command in `cwd` (default: the repository), stripped; raises if git fails."
    return subprocess.run(['git', *args], cwd=cwd or ROOT, capture_output=True, text=True, check=True).stdout.strip()


def committed(path: str, rev: str='HEAD') -> str|None:
    "The text of `path` at git revision `rev` (None if it was not committed)."
    r = subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=ROOT, capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def compare(rev: str='HEAD') -> dict:
    """Rows whose mean top-1 differs from the committed one beyond the 95% interval of the difference (Welch, df =
    n1 + n2 - 2, conservative), and claims whose verdict changed."""
    from dsts.evaluate import t975   # the quantiles the verdicts use (here, not above: --help stays fast)
    rows, flips = [], []
    for p in sorted((ROOT/'results'/'runs').glob('*/metrics.json')):
        old = committed(str(p.relative_to(ROOT)), rev)
        if old is None: continue
        a, b = json.loads(p.read_text()), json.loads(old)
        n1, n2 = a['seeds'], b['seeds']
        half = t975(max(1, n1 + n2 - 2)) * math.sqrt(a['top1_std'] ** 2 / n1 + b['top1_std'] ** 2 / n2)
        rows.append(dict(row=p.parent.name, now=a['top1'], committed=b['top1'], diff=round(a['top1'] - b['top1'], 6),
                         half_width=round(half, 6), beyond=abs(a['top1'] - b['top1']) > half))
    old = committed('results/tables/claims.csv', rev)
    new = ROOT/'results'/'tables'/'claims.csv'
    if old and new.exists():
        key = lambda r: (r['claim'], r['dataset'], r['a'], r['b'])
        before = {key(r): r['verdict'] for r in csv.DictReader(io.StringIO(old))}
        flips = [dict(claim=k[0], dataset=k[1], a=k[2], b=k[3], committed=before[k], now=r['verdict'])
                 for r in csv.DictReader(io.StringIO(new.read_text())) for k in [key(r)]
                 if k in before and before[k].split(' (')[0] != r['verdict'].split(' (')[0]]
    out = dict(rows=len(rows), rows_beyond_ci=[r for r in rows if r['beyond']], verdicts_flipped=flips, detail=rows)
    print(f"compared with the committed results: {len(out['rows_beyond_ci'])} of {len(rows)} rows differ beyond their "
          f"95% interval, {len(flips)} verdicts changed" + ''.join(f"\n  row {r['row']}: {100 * r['committed']:.1f} -> "
          f"{100 * r['now']:.1f} (interval ±{100 * r['half_width']:.1f})" for r in out['rows_beyond_ci'])
          + ''.join(f"\n  {f['claim']} {f['dataset']}: {f['committed']} -> {f['now']}" for f in flips))
    return out


def cpu_model() -> str:
    "The CPU's model name (/proc/cpuinfo; else platform's): a run on another CPU sums in another order."
    info = Path('/proc/cpuinfo')
    names = [l.split(':', 1)[1].strip() for l in info.read_text().splitlines() if l.startswith('model name')] if info.exists() else []
    import platform
    return names[0] if names else platform.processor() or 'unknown'


def precision_of_runs() -> dict:
    """How many seeds of the working tree's runs trained in each precision (bf16 / fp32, as the runs' metrics record it;
    'unrecorded' for runs older than that record)."""
    seen = {}
    for p in (ROOT/'results'/'runs').glob('*/seeds/*/metrics.json'):
        k = json.loads(p.read_text()).get('precision', 'unrecorded')
        seen[k] = seen.get(k, 0) + 1
    return seen


# The float-path checks (`make repro-check CHECK=<kind>`): the overrides of params.yaml each runs with, and its label.
# `threads` (the default): each run in one process of two threads splits its sums over two threads, as another CPU
# splits them; `fp32`: train.amp false, fp32 throughout. What each costs against the default, and that two threads give
# other bits, is measured by bench/model_overhead.py (bench/results/model-overhead.json), not stated here.
CHECKS = {'threads': ({'pipeline': {'threads': 2, 'jobs': 1}},
                      'pipeline.threads: 2, jobs: 1 (every sum split over two threads, as another CPU splits it), same CPU'),
          'fp32': ({'train': {'amp': False}}, 'train.amp: false, fp32 throughout (pretraining included), same CPU')}


def float_check(kind: str='threads', work: Path|None=None) -> int:
    """The float-path check (`make repro-check`): clone this commit into `work` (default: dsts-<kind>-<commit> in the
    temporary folder), run the default pipeline there with the overrides `CHECKS[kind]` (only the float path changes)
    with this interpreter, and write its comparison with the committed results to results/reproduction/<kind>.json.
    The clone is kept: run it again after a stop and DVC resumes stage by stage."""
    import tempfile, yaml
    from dsts.core import yaml_load   # reads 1e-3 as a number, as DVC does
    if kind not in CHECKS: sys.exit(f"unknown float-path check {kind!r}: one of {', '.join(CHECKS)}")
    overrides, label = CHECKS[kind]
    head = git('rev-parse', 'HEAD')
    work = work or Path(tempfile.gettempdir())/f'dsts-{kind}-{head[:7]}'
    if not (work/'.git').exists(): git('clone', '-q', str(ROOT), str(work))
    if git('rev-parse', 'HEAD', cwd=work) != head:
        sys.exit(f"{work} holds a clone of another commit than {head[:7]}: remove it, or pass another folder")
    params = work/'params.yaml'
    P = yaml_load(params.read_text())
    for section, kv in overrides.items(): P[section].update(kv)   # (comments are lost in the throw-away clone only)
    params.write_text(yaml.safe_dump(P, sort_keys=False))
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    print(f"float-path check in {work} ({label}); stop and rerun it at will: finished stages are kept", flush=True)
    if subprocess.run([sys.executable, 'tools/repro.py'], cwd=work, env=env).returncode: return 1
    out = ROOT/'results'/'reproduction'/f'{kind}.json'
    return subprocess.run([sys.executable, 'tools/repro.py', '--compare', str(out), '--label', label], cwd=work, env=env).returncode


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--started', type=float, default=None, help='UNIX time at which `make repro` started (its set-up counts from there)')
    p.add_argument('--all-ablations', action='store_true', help='run the default pipeline plus every row of pipeline.all_ablations, '
                   'with the backbones of pipeline.all_pretrain pretrained (dvc exp run), and record it as all_ablations')
    p.add_argument('--compare', metavar='JSON', help='run nothing: compare the results in the working tree with the '
                   'committed ones (rows beyond their interval, verdicts changed) and write the comparison to JSON, with '
                   'the commit compared against (`against`: the README says when the committed results have moved on)')
    p.add_argument('--label', default='', help="with --compare: what this run changed, recorded in the JSON (e.g. "
                   "'train.amp: false (fp32)'; the README quotes it)")
    p.add_argument('--check', choices=list(CHECKS), metavar='KIND', help='the float-path check: the default pipeline '
                   'again in a clone of this commit with only the float path changed (threads: two threads per run; fp32: '
                   'no bf16), compared -> results/reproduction/KIND.json')
    p.add_argument('--check-dir', metavar='DIR', help='with --check: the clone (default dsts-KIND-<commit> in the temporary '
                   'folder; kept, so a rerun resumes)')
    p.add_argument('dvc_args', nargs='*', help='passed to `dvc repro` or `dvc exp run` (after --)')
    a = p.parse_args(argv)
    if a.check: return float_check(a.check, Path(a.check_dir) if a.check_dir else None)
    if a.compare:
        out = Path(a.compare); out.parent.mkdir(parents=True, exist_ok=True)
        cmp = compare()
        rt = json.loads(OUT.read_text()).get('full', {}) if OUT.exists() else {}
        cmp = dict(label=a.label, against=git('rev-parse', '--short', 'HEAD'), float_path=precision_of_runs(), cpu=cpu_model(),
                   run_time=rt, **cmp)
        out.write_text(json.dumps(cmp, indent=1) + '\n'); return 0
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
    t1, noop = time.time(), stages == 0
    changed = None
    if stages and not a.all_ablations and (ROOT/'.git').exists():   # deterministic data and training: a rebuild should reproduce the committed tables
        changed = subprocess.run(['git', 'status', '--porcelain', '--', 'results/tables', 'results/results.md'], cwd=ROOT,
                                 capture_output=True, text=True).stdout.split('\n')
        changed = [l[3:] for l in changed if l.strip()]
        print('same-machine note: results/tables and results/results.md ' + (f"differ from the commit in {len(changed)} files ({', '.join(changed[:4])}"
              f"{' ...' if len(changed) > 4 else ''}): `git diff results/` shows how" if changed else 'identical to the commit'))
    rec = json.loads(OUT.read_text()) if OUT.exists() else {}
    setup = round(t0 - a.started, 1) if a.started else None
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)   # CPU seconds of DVC and every process it waited for (the stages)
    cmp = compare() if stages and (ROOT/'.git').exists() else None
    rec['all_ablations' if a.all_ablations else 'noop' if noop else 'full'] = dict(
        setup_s=setup, dvc_repro_s=round(t1 - t0, 1), total_s=round(t1 - (a.started or t0), 1), cpu_s=round(ru.ru_utime + ru.ru_stime, 1),
        cpus=os.cpu_count(), cpu=cpu_model(), stages=stages, tables_identical=None if changed is None else not changed,
        rows_beyond_ci=None if cmp is None else len(cmp['rows_beyond_ci']),
        verdicts_flipped=None if cmp is None else len(cmp['verdicts_flipped']))
    tmp = OUT.with_suffix('.tmp'); tmp.write_text(json.dumps(rec, indent=1) + '\n'); tmp.replace(OUT)
    print(f"{'dvc exp run' if a.all_ablations else 'dvc repro'}: {t1 - t0:.1f} s" + (f" (set-up before it {setup:.1f} s)" if setup is not None else '') + f" -> {OUT.relative_to(ROOT)}")
    return 0

if __name__ == '__main__': sys.exit(main())
