"""Test accuracy of one table row against epochs, at a chosen number of training videos per class: the measurement
behind choosing a benchmark's size and a training budget (issue 15). One process, one thread, one seed; the test
split is evaluated after every epoch (this costs time and is why the pipeline does not do it).

  python tools/learning_curve.py --dataset synthsomething --variant backbone --per-class 160 --epochs 12 \\
      --root /tmp/cal/synthsomething --set train.optimizer=adamw --set train.lr=0.003 --set train.weight_decay=0.05

prints one JSON line per epoch and writes them to --out (default:
results/calibration/curve-<dataset>-<variant>-<per-class>-e<epochs>.json, the folder nbs/calibration.ipynb draws;
the run's checkpoint goes to a temporary folder)."""
import argparse, json, tempfile, time
from pathlib import Path
import torch
import dsts.config as C, dsts.metrics as M, dsts.train as T
from dsts.data.datasets import Annotations

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        '--dataset', required=True, help='a profile of params.yaml:datasets (synthdive, synthsomething, ...)'
    )
    ap.add_argument('--variant', default='backbone', help='a row of params.yaml:variants (default: %(default)s)')
    ap.add_argument(
        '--per-class',
        type=int,
        required=True,
        help='training videos per class: the first N of each class of the train split',
    )
    ap.add_argument('--epochs', type=int, required=True)
    ap.add_argument('--root', help='the dataset folder (default: the profile\'s data.root)')
    ap.add_argument(
        '--set', action='append', default=[], metavar='KEY=VALUE', help='override a key of the run config (repeatable)'
    )
    ap.add_argument('--params', default='params.yaml'); ap.add_argument('--out')
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sets = [f'train.epochs={a.epochs}', 'train.progress=false'] + ([f'data.root={a.root}'] if a.root else []) + a.set
    cfg = C.run_config(C.params_for(a.params, a.dataset, sets=sets, variant=a.variant))
    read = T.read_annotations
    def first_per_class(dataset, root, split):
        ann = read(dataset, root, split)
        if split != 'train': return ann
        by = {}
        for r in ann.records: by.setdefault(r.label, []).append(r)
        short = {ann.classes[c]: len(v) for c, v in sorted(by.items()) if len(v) < a.per_class}
        if short:   # a curve labelled 100 per class must not be drawn from 75
            raise SystemExit(
                f"--per-class {a.per_class}: the train split of {root} holds fewer videos in {len(short)} classes "
                f"(e.g. {next(iter(short.items()))}); generate a larger set with dsts-synth and pass it as --root"
            )
        return Annotations(
            [r for c in sorted(by) for r in by[c][: a.per_class]],
            ann.classes,
            ann.source,
            ann.flip_map,
            ann.mirror_safe,
        )
    T.read_annotations = first_per_class
    test = T.make_loaders(cfg)['test']
    curve, t0 = [], time.time()
    def on_epoch(e, model, rec):
        pr = M.predict(model, test)
        curve.append(
            dict(
                epoch=e,
                train_top1=rec['top1'],
                loss=rec['loss'],
                test_top1=M.classification_metrics(pr['probs'], pr['labels'])['top1'],
                seconds=round(time.time() - t0, 1),
            )
        )
        print(json.dumps(curve[-1]), flush=True)
    out = Path(a.out or f'results/calibration/curve-{a.dataset}-{a.variant}-{a.per_class}-e{a.epochs}.json')
    with tempfile.TemporaryDirectory() as run: T.train(cfg, run, log=lambda s: None, on_epoch=on_epoch)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(dict(dataset=a.dataset, variant=a.variant, per_class=a.per_class, sets=sets, curve=curve), indent=1)
    )

if __name__ == '__main__': main()
