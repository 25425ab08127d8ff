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

Not `dvc repro --pull`: with `--pull` DVC skips a stage whose outputs are missing but whose dependencies are
unchanged (it allows missing outputs), and every output here is kept in git, not in a DVC cache (`cache: false`),
so on a fresh clone it ran nothing and left no artifacts. Without it a fresh clone rebuilds every stage, and the
end of the run says whether the tables came out identical to the committed ones.
"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'results'/'repro-time.json'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--started', type=float, default=None, help='UNIX time at which `make repro` started (its set-up counts from there)')
    p.add_argument('--all-ablations', action='store_true', help='run the default pipeline plus every row of pipeline.all_ablations, '
                   'with the backbones of pipeline.all_pretrain pretrained (dvc exp run), and record it as all_ablations')
    p.add_argument('dvc_args', nargs='*', help='passed to `dvc repro` or `dvc exp run` (after --)')
    a = p.parse_args(argv)
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
        print('results/tables and results/results.md: ' + (f"differ from the commit in {len(changed)} files ({', '.join(changed[:4])}"
              f"{' ...' if len(changed) > 4 else ''}): `git diff results/` shows how" if changed else 'identical to the commit'))
    rec = json.loads(OUT.read_text()) if OUT.exists() else {}
    setup = round(t0 - a.started, 1) if a.started else None
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)   # CPU seconds of DVC and every process it waited for (the stages)
    rec['all_ablations' if a.all_ablations else 'noop' if noop else 'full'] = dict(
        setup_s=setup, dvc_repro_s=round(t1 - t0, 1), total_s=round(t1 - (a.started or t0), 1), cpu_s=round(ru.ru_utime + ru.ru_stime, 1),
        cpus=os.cpu_count(), stages=stages, tables_identical=None if changed is None else not changed)
    tmp = OUT.with_suffix('.tmp'); tmp.write_text(json.dumps(rec, indent=1) + '\n'); tmp.replace(OUT)
    print(f"{'dvc exp run' if a.all_ablations else 'dvc repro'}: {t1 - t0:.1f} s" + (f" (set-up before it {setup:.1f} s)" if setup is not None else '') + f" -> {OUT.relative_to(ROOT)}")
    return 0

if __name__ == '__main__': sys.exit(main())
