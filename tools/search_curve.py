"""The spatio-temporal search's learning curve: the pipeline's `search` stage (the same config, from the same
pretrained backbone) for a chosen number of epochs and seed, recording after every epoch the search network's
training and held-out top-1 and the architecture it would write then (each neuron's ratio of largest alpha and its
softmax probabilities). The measurement behind `pipeline.search_epochs` (nbs/calibration_search.ipynb, "Is one epoch of
search a search?"). Run it in a checkout whose `dvc repro pretrain` is done (artifacts/pretrain/).

  python tools/search_curve.py --dataset synthdive --epochs 16 --seed 1 \\
      --out results/calibration/search/synthdive-e16-seed1.json

writes --out (dataset, seed, epochs, the overrides, the precision, per epoch the curve and the architecture); the
run's own folder (checkpoint, arch.json) is temporary. The run config is the search stage's own
(`pipeline_config(..., stage='search')`), with --epochs, --seed, a held-out curve and the --set overrides
(tests/test_pipeline.py compares this tool's one-epoch architecture of seed 0 with the stage's)."""
import argparse, json, tempfile
from pathlib import Path
import torch
from dsts.config import pipeline_config
from dsts.core import ConfigError, atomic_json
from dsts.search import genotype
from dsts.train import train

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', default='synthdive', help='a profile of params.yaml:datasets (default: %(default)s)')
    ap.add_argument('--epochs', type=int, required=True, help='search epochs (the pipeline: pipeline.search_epochs)')
    ap.add_argument(
        '--seed',
        type=int,
        default=0,
        help='the run seed (the pipeline searches once per seed of pipeline.seeds; default %(default)s)',
    )
    ap.add_argument(
        '--set',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='override a key of the run config after the search stage\'s own, e.g. search.arch_lr=0.1 (repeatable)',
    )
    ap.add_argument('--params', default='params.yaml', help='params file (default: %(default)s)')
    ap.add_argument('--out', required=True, help='the JSON file to write (its folder is created)')
    ap.add_argument(
        '--threads', type=int, default=1, help='intra-op threads (default: %(default)s, as pipeline.threads)'
    )
    a = ap.parse_args(argv)
    if a.epochs < 1: ap.error(f'--epochs {a.epochs}: at least 1')
    torch.set_num_threads(a.threads)
    curve = []
    def on_epoch(e, model, rec):
        curve.append(
            dict(epoch=e, loss=rec['loss'], train_top1=rec['top1'], test_top1=rec['test_top1'], arch=genotype(model))
        )
        print(json.dumps({k: v for k, v in curve[-1].items() if k != 'arch'}), flush=True)
    sets = [
        f'seed={a.seed}',
        f'train.epochs={a.epochs}',
        'train.heldout_each_epoch=true',
        'train.progress=false',
        *a.set,
    ]
    try:
        cfg = pipeline_config(a.params, a.dataset, stage='search', sets=sets)
        with tempfile.TemporaryDirectory() as run:
            m = train(cfg, run, log=lambda s: None, on_epoch=on_epoch)
            final = json.loads((Path(run)/'arch.json').read_text())
    except ConfigError as e: ap.exit(2, f'search_curve.py: {e}\n')   # bad params, no pretrained start: no traceback
    assert final == curve[-1]['arch'], 'the last epoch\'s architecture is not the one the run wrote'
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_json(Path(a.out), dict(dataset=a.dataset, seed=a.seed, epochs=a.epochs, sets=sets, precision=m['precision'],
                                  test_top1=m['test']['top1'], curve=curve))

if __name__ == '__main__': main()
