"""Data-layer benchmark: generation time of the default synthetic benchmarks, and the loader's
decode + transform throughput (clips/s) on SynthDive at the default size with 0 and 2 workers.

    python bench/data_throughput.py [--params params.yaml] [--batches 20] [--json bench/out/data.json]

Figures are measured in one run on the machine at hand; compare them as ratios, not across machines.
"""
import argparse, json, tempfile, time
from pathlib import Path
import torch
from dsts.core import load_params, atomic_json
from dsts.synth.cli import generate, synth_config
from dsts.data.datasets import read_annotations, VideoDataset, VideoLoader
from dsts.data.transforms import ClipTransform


def throughput(root, workers, frames=16, size=32, batch_size=32, epochs=2):
    ann = read_annotations('synthdive', root, 'train')
    ds = VideoDataset(ann, frames=frames, transform=ClipTransform(size, crop='random', flip=True), train=True)
    loader = VideoLoader(ds, batch_size=batch_size, workers=workers, seed=0)
    n, t = 0, time.perf_counter()
    for ep in range(epochs):
        loader.set_epoch(ep)
        for x, y in loader: n += len(y)
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--params', default='params.yaml', help="params file whose 'synth' section sets the benchmark size")
    ap.add_argument('--epochs', type=int, default=2, help='epochs over SynthDive train per loader measurement')
    ap.add_argument('--json', default='bench/out/data.json', help='where to write the figures')
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = synth_config(load_params(a.params, 'synth') if Path(a.params).exists() else {})
    out = {}
    with tempfile.TemporaryDirectory() as d:
        times = generate(d, cfg)
        out['generate_s'] = {**times, 'total': round(sum(times.values()), 2)}
        for w in (0, 2):
            out[f'loader_clips_per_s_workers{w}'] = round(
                throughput(Path(d) / 'synthdive', w, size=cfg['size'], epochs=a.epochs), 1
            )
    out['machine'] = dict(cpus=torch.get_num_threads(), torch=torch.__version__)
    atomic_json(a.json, out)
    print(f"generation (default sizes): SynthDive {times['synthdive']:.1f} s, SynthSomething "
          f"{times['synthsomething']:.1f} s, "
          f"total {out['generate_s']['total']:.1f} s (target < 60 s)")
    for w in (0, 2): print(f"loader, SynthDive train, 16x{cfg['size']}x{cfg['size']}, {w} workers: "
                           f"{out[f'loader_clips_per_s_workers{w}']} clips/s")
    print(f"ratio 2 workers / 0 workers: {out['loader_clips_per_s_workers2'] / out['loader_clips_per_s_workers0']:.2f}")
    print(f'-> {a.json}')


if __name__ == '__main__':
    main()
