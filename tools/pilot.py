"""The pilot of a design: rows trained on pilot seeds, apart from the main seeds, on the validation split alone
(the test split is never opened), at the design's budget and, with --twice, at twice it: what the design file
records before the main run (the positive control's deficit, the A/A control, whether every row has converged).

  python tools/pilot.py --dataset synthdive --rows backbone backbone_few --seeds 4 5 6 7 --epochs 30 --jobs 2
  python tools/pilot.py --dataset synthdive --rows static dsts --seeds 4 5 --epochs 30 --twice --jobs 2

Rows that build a searched architecture (st: arch) need their seed's search: it runs first, as stage `search` runs it
(validation only), into artifacts/search/<dataset>/seed<k>/ for each seed that has none. Each row's curves go to
results/pilot/<design>/<row>-e<epochs>.json, <design> the name in the file params.yaml:pipeline.design names (else the
dataset's name; tools/learning_curve.py's format; the runs at twice the budget read validation at their end only),
read by nbs/design_synthdive.ipynb. A record grows by --jobs seeds at a time, and the seeds it holds are not run again:
an interrupted pilot keeps every seed it finished. The runs themselves are kept in
artifacts/pilot/<design>/<row>-e<epochs>/: the same command, run again after an interruption, resumes them at their
last epoch (a finished run is read back, not trained again)."""
import argparse, sys
import yaml
from pathlib import Path
import dsts.config as C, dsts.train as T
sys.path.insert(0, str(Path(__file__).parent))
import learning_curve

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', required=True, help='a profile of params.yaml:datasets')
    ap.add_argument('--rows', nargs='+', required=True, help='variants of params.yaml:variants')
    ap.add_argument('--seeds', type=int, nargs='+', required=True, help='pilot seeds (none of pipeline.seeds)')
    ap.add_argument('--epochs', type=int, required=True, help="the design's budget")
    ap.add_argument('--twice', action='store_true', help='also train every row at twice the budget')
    ap.add_argument('--final-only', action='store_true', help='read validation only at the end of the runs at the '
                    "budget too (no per-epoch curve: a fifth less time); the runs at twice the budget always do")
    ap.add_argument('--jobs', type=int, default=2, help='runs trained at once (default: %(default)s)')
    ap.add_argument('--params', default='params.yaml')
    a = ap.parse_args(argv)
    P = C.load_params(a.params)
    if clash := sorted(set(a.seeds) & set(P['pipeline']['seeds'])):
        ap.error(f"--seeds {clash} are main seeds (pipeline.seeds): a pilot runs on seeds apart from them")
    arch = [r for r in a.rows if C.pipeline_config(a.params, a.dataset, r)['model']['dsts'].get('st') == 'arch']
    todo = [s for s in a.seeds if not (C.SEARCH_DIR/a.dataset/f'seed{s}'/'arch.json').exists()] if arch else []
    if todo:   # the rows' own searches, as stage search runs them
        cfg = C.pipeline_config(a.params, a.dataset, stage='search')
        T.train_seeds(cfg, C.SEARCH_DIR/a.dataset, todo, a.jobs, progress=f'search {a.dataset}', log=lambda s: None)
    design = P['pipeline'].get('design')
    out = Path('results/pilot')/(yaml.safe_load(Path(design).read_text())['design'] if design else a.dataset)
    for e in [a.epochs, 2 * a.epochs] if a.twice else [a.epochs]:
        for r in a.rows:
            work = Path('artifacts/pilot')/out.name/f'{r}-e{e}'
            learning_curve.main(['--dataset', a.dataset, '--variant', r, '--epochs', str(e), '--jobs', str(a.jobs),
                                 '--params', a.params, '--out', str(out/f'{r}-e{e}.json'), '--work', str(work),
                                 '--seeds', *map(str, a.seeds)] + ['--final-only'] * (a.final_only or e > a.epochs))

if __name__ == '__main__': main()
