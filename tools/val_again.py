"""Validation top-1 of finished runs read again on another render's validation split: a larger one, to measure a
difference between two runs (a doubling of the budget) more finely than the split they were trained beside. Only the
validation split of --root is read; the runs are not trained again.

  python tools/val_again.py --work artifacts/cal/Bd48-e64-sgd0.05 --root artifacts/cal/Bval160 \\
      --out results/calibration/v3/nano/val160/Bd-nano-48-e64-sgd0.05.json

--work is a folder of runs (<work>/seed<k>/checkpoint.pt, as tools/learning_curve.py --work keeps them); every seed
found there is read. Writes {work, root, benchmark (--root's version.json), clips, val: {seed: top-1}, correct: {seed:
'0110...', one character per validation clip of --root in the split's order}} to --out; --record (a record of
tools/learning_curve.py) is checked to be the same runs: each checkpoint must get right, on its own validation
split, the clips the record says its run got right."""
import argparse, json, sys
from pathlib import Path
from dsts.core import atomic_json
from learning_curve import correct_clips as correct   # tools/ is the script's folder: pilot.py imports it alike

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', required=True, help='a folder of finished runs: <work>/seed<k>/checkpoint.pt')
    ap.add_argument('--root', required=True, help='the render whose validation split is read')
    ap.add_argument('--record', help="the runs' record (tools/learning_curve.py): checked against the checkpoints")
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    work, root = Path(a.work), Path(a.root)
    cks = sorted(work.glob('seed*/checkpoint.pt'), key=lambda p: int(p.parent.name[4:]))
    if not cks: sys.exit(f"--work {work}: no seed<k>/checkpoint.pt in it (a folder of tools/learning_curve.py --work)")
    if not (root/'version.json').exists(): sys.exit(f"--root {root}: no version.json (not a SynthDive render)")
    if a.record:
        rec = json.loads(Path(a.record).read_text())
        for p in cks:
            s = p.parent.name[4:]
            if correct(p) != rec.get('correct', {}).get(s):   # the record's own reading of its final checkpoints
                sys.exit(f"--record {a.record}: seed {s}'s checkpoint does not read on its own validation split what "
                         "the record says it read (its `correct`): not the same runs")
    hits = {p.parent.name[4:]: correct(p, root) for p in cks}
    out = dict(work=str(work), root=str(root), benchmark=json.loads((root/'version.json').read_text()),
               clips=len(next(iter(hits.values()))), val={s: h.count('1') / len(h) for s, h in hits.items()},
               correct=hits)
    atomic_json(Path(a.out), out)
    print(json.dumps({s: round(v, 4) for s, v in out['val'].items()}), f'on {out["clips"]} clips')

if __name__ == '__main__': main()
