"""Validation top-1 of one table row against epochs, on chosen seeds and (optionally) a chosen number of training videos
per class: the measurement behind a benchmark's size, a training budget and the pilot of a design (issues 15, 31). The
row is trained as the pipeline trains it (`pipeline_config`: its pretrained start, its profile), except that the
test split is never opened (train.test=false): the held-out split (SynthDive's validation split) is read after every
epoch and at the end.

  python tools/learning_curve.py --dataset synthdive --variant backbone --epochs 40 --seeds 4 5 --jobs 2
  python tools/learning_curve.py --dataset synthdive --variant backbone --epochs 16 --per-class 120 \\
      --root /tmp/cal/synthdive --set data.per_seed_draw=false

writes {dataset, variant, per_class, epochs, sets, benchmark (the data folder's version.json: generator version, seed,
nuisance ranges), seeds: {seed: [{epoch, loss, train_top1, val_top1, seconds}]},
val: {seed: final val top-1}, correct: {seed: '0110...', one character per validation clip in the split's order:
whether the final model's prediction is right}} to --out (default:
results/calibration/curve-<dataset>-<variant>-<per-class>-e<epochs>.json). The seeds train --jobs at a time, and the
record is rewritten (atomically) after each such batch with every seed finished so far: a record that exists is
extended, its seeds kept and not trained again, when it was made with the same settings and data (else the command
stops before any work, naming what differs). So a long measurement survives an interrupted session seed by seed. The
runs' checkpoints go to a temporary folder, or with --work to a kept one, from which the same command, run again after
an interruption, resumes every seed at its last epoch (a finished seed is not trained again)."""
import argparse, contextlib, json, sys, tempfile
from pathlib import Path
import dsts.config as C, dsts.train as T
from dsts.core import atomic_json
from dsts.data.datasets import make_dataset, VideoLoader
from dsts.evaluate import load_trained
from dsts.metrics import predict

def correct_clips(ck_path, root=None) -> str:
    """Which validation clips the trained model of `ck_path` gets right, '0'/'1' per clip in the split's order: two
    rows' strings on the same seed give their discordant clips, the validation split's share of their paired spread.
    `root`: another render's validation split instead of the run's own (tools/val_again.py)."""
    model, ck = load_trained(ck_path)
    cfg = C.run_config(ck['config'])
    if root is not None: cfg['data']['root'] = str(root)
    ds = make_dataset(cfg, 'val', train=False)
    pr = predict(model, VideoLoader(ds, max(1, cfg['train']['batch_size'] // ds.views), shuffle=False))
    return ''.join('1' if c else '0' for c in (pr['probs'].argmax(1) == pr['labels']).tolist())

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', required=True, help='a profile of params.yaml:datasets (synthdive, ...)')
    ap.add_argument('--variant', default='backbone', help='a row of params.yaml:variants (default: %(default)s)')
    ap.add_argument('--epochs', type=int, required=True, help='the budget: the cosine schedule ends there')
    ap.add_argument('--per-class', type=int, help='training videos per class: the first N of each class of the train '
                    'split (data.train_per_class; default: all)')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0], help='seeds (each its own draw where the profile says '
                    'data.per_seed_draw; default: %(default)s)')
    ap.add_argument('--jobs', type=int, default=1, help='runs trained at once, one thread each (default: %(default)s)')
    ap.add_argument('--final-only', action='store_true', help='read the held-out split once, at the end (no per-epoch '
                    'curve: a third less time; what a check at twice the budget needs)')
    ap.add_argument('--root', help="the dataset folder (default: the profile's data.root)")
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='override a key of the run config (repeatable)')
    ap.add_argument('--work', help='keep the runs here (<work>/seed<k>) and resume them when run again (default: a '
                    'temporary folder, removed at the end)')
    ap.add_argument('--params', default='params.yaml'); ap.add_argument('--out')
    a = ap.parse_args(argv)
    sets = [f'train.epochs={a.epochs}', 'train.progress=false', 'train.test=false',
            f'train.heldout_each_epoch={str(not a.final_only).lower()}',
            f'data.train_per_class={a.per_class}' if a.per_class else None, f'data.root={a.root}' if a.root else None]
    sets = [s for s in sets if s] + a.set
    cfg = C.pipeline_config(a.params, a.dataset, a.variant, sets=sets)   # the row as the pipeline trains it
    per = a.per_class or 'all'
    out = Path(a.out or f'results/calibration/curve-{a.dataset}-{a.variant}-{per}-e{a.epochs}.json')
    meta = Path(cfg['data']['root'])/'version.json'
    bench = json.loads(meta.read_text()) if meta.exists() else None   # what the data was rendered from
    rec = dict(dataset=a.dataset, variant=a.variant, per_class=per, epochs=a.epochs, sets=sets, benchmark=bench,
               seeds={}, val={}, correct={})
    if out.exists():   # extend it: its seeds are kept, when it measured the same thing
        old = json.loads(out.read_text())
        if differ := [k for k in ('dataset', 'variant', 'per_class', 'epochs', 'sets', 'benchmark')
                      if old.get(k) != rec[k]]:
            what = ', '.join(f'{k}: {old.get(k)!r}, now {rec[k]!r}' for k in differ)
            sys.exit(f"{out} exists with other settings ({what}): give another --out, or remove it to measure again")
        rec.update({k: old[k] for k in ('seeds', 'val', 'correct')})
    todo = [s for s in a.seeds if str(s) not in rec['val']]
    if not todo: print(f'{out}: seeds {a.seeds} recorded already'); return
    keep = ('epoch', 'loss', 'top1', 'val_top1')
    with tempfile.TemporaryDirectory() if a.work is None else contextlib.nullcontext(a.work) as tmp:
        for i in range(0, len(todo), a.jobs):   # a batch of --jobs seeds at a time, recorded when it ends
            batch = todo[i:i + a.jobs]
            ms = T.train_seeds(cfg, tmp, batch, jobs=a.jobs, log=lambda s: None, progress=f'{a.variant} e{a.epochs}',
                               resume=a.work is not None)
            for s, m in zip(batch, ms):
                rec['seeds'][str(s)] = [{('train_top1' if k == 'top1' else k): h[k] for k in keep if k in h}
                                        | dict(seconds=sec) for h, sec in zip(m['history'], m['epoch_seconds'])]
                rec['val'][str(s)] = m['val']['top1']
                rec['correct'][str(s)] = correct_clips(Path(tmp)/f'seed{s}'/'checkpoint.pt')
            atomic_json(out, rec)
            print(json.dumps({s: [round(e['val_top1'], 4) for e in rec['seeds'][str(s)] if 'val_top1' in e]
                              or round(rec['val'][str(s)], 4) for s in batch}))

if __name__ == '__main__': main()
