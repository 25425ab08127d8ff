"""Training benchmark: what UDL costs over a plain step, whether the loader keeps up, and training throughput.

    python bench/train_step.py [--batch 32] [--frames 8] [--size 32] [--reps 15] [--device auto] [--paper]

All figures are ratios measured in one run, repetitions interleaved (A B A B ...), medians taken:
  * UDL step / plain step at every=1, first order  (target <= 1.5) and second order (target <= 2.0),
    and the amortised cost of every=4 (a UDL step then three plain ones, over four plain steps; target <= 1.15)
  * the loader's time per batch (SynthDive train, first epoch: decoding; later epochs: cached) over the
    time of a training step at the same sizes (target < 5 percent)
  * clips per second of one real training epoch on SynthDive (dsts.train.train, default model)
With --paper (CUDA): tsm_resnet50 and timesformer_base, each with and without DSTS, 8 frames at 224x224,
bf16 autocast, channels-last: clips/s of a training step, peak GPU memory, and model FLOPs utilisation
(3 x forward FLOPs x clips/s over the GPU's dense bf16 peak).
Needs the synthetic benchmarks (make synth) for the loader and epoch figures.
"""
import argparse, copy, math, statistics, sys, tempfile, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.model_overhead import interleaved, timed
from dsts.core import atomic_json
from dsts.model import build_model, count_flops
from dsts.config import run_config
from dsts.train import make_loss_fn, make_optimizer, train_step, make_loaders, train
from dsts.metrics import autocast

PEAK_BF16 = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L40S': 362e12, 'A10': 125e12}   # dense tensor-core peaks


def stepper(model, cfg, x, y, dev, udl=None):
    "A function doing one optimizer step of `model` on (x, y) with the given udl section (None: plain)."
    u = {**cfg['udl'], **(udl or {}), 'enabled': udl is not None}
    opt, _ = make_optimizer(model, cfg['train'], 100, 10)
    loss_fn = make_loss_fn(model, 0.1, lambda: autocast(dev, cfg['train']['amp']))
    half = len(y) // 2
    nxt = (x.roll(half, 0), y.roll(half, 0))            # the "next batch" of split: batches
    def f():
        model.train()
        train_step(model, loss_fn, (x, y), nxt, u, udl is not None, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return f


def udl_ratios(cfg, dev, batch, frames, size, reps):
    torch.manual_seed(0)
    K = 48
    x, y = torch.randn(batch, 3, frames, size, size, device=dev), torch.randint(0, K, (batch,), device=dev)
    base = build_model(cfg['model'], K).to(dev)
    mk = lambda: copy.deepcopy(base)
    plain, first, second = (
        stepper(mk(), cfg, x, y, dev),
        stepper(mk(), cfg, x, y, dev, dict(order='first')),
        stepper(mk(), cfg, x, y, dev, dict(order='second')),
    )
    t = interleaved(dict(plain=plain, first=first, second=second), reps, dev)
    p4 = stepper(mk(), cfg, x, y, dev)
    u4a, u4b = stepper(mk(), cfg, x, y, dev, dict(order='first')), stepper(mk(), cfg, x, y, dev)
    four = interleaved(
        dict(plain4=lambda: [p4() for _ in range(4)], every4=lambda: (u4a(), [u4b() for _ in range(3)])),
        max(3, reps // 3),
        dev,
    )
    return t, four


def loader_ratio(cfg, dev, step_s):
    cfg = copy.deepcopy(cfg); cfg['data']['cache'] = True
    ld = make_loaders(cfg)['train']
    out = {}
    for name in ('first_epoch', 'cached_epoch'):
        t = time.perf_counter(); n = sum(1 for _ in ld); out[name] = (time.perf_counter() - t) / n
    return {k: dict(seconds_per_batch=v, over_step=v / step_s) for k, v in out.items()}


def paper_scale(dev, batch, reps):
    name = torch.cuda.get_device_name(dev)
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    rows = []
    for bb in ('tsm_resnet50', 'timesformer_base'):
        for dsts in (False, True):
            cfg = run_config(
                dict(model=dict(backbone=bb, dsts=dict(enabled=dsts)), train=dict(batch_size=batch), device='cuda')
            )
            torch.cuda.reset_peak_memory_stats(dev); torch.manual_seed(0)
            m = build_model(cfg['model'], 48).to(dev).to(memory_format=torch.channels_last_3d)
            x = torch.randn(batch, 3, 8, 224, 224, device=dev).contiguous(memory_format=torch.channels_last_3d)
            y = torch.randint(0, 48, (batch,), device=dev)
            f = stepper(m, cfg, x, y, dev)
            s = interleaved(dict(step=f), reps, dev)['step']
            fl = count_flops(m, x[:1])['dense']
            cps = batch / s
            rows.append(
                dict(
                    backbone=bb,
                    dsts=dsts,
                    clips_per_s=round(cps, 2),
                    peak_mem_gib=round(torch.cuda.max_memory_allocated(dev) / 2**30, 2),
                    gflops_per_clip=round(fl / 1e9, 1),
                    mfu=round(3 * fl * cps / peak, 4) if peak else None,
                )
            )
            print(f"{bb:17s} DSTS {'on ' if dsts else 'off'}  {cps:8.1f} clips/s  {rows[-1]['peak_mem_gib']:6.2f} GiB  "
                  f"{rows[-1]['gflops_per_clip']:7.1f} GFLOPs/clip  MFU "
                  f"{rows[-1]['mfu'] if peak else 'n/a (unknown GPU peak)'}")
            del m, f; torch.cuda.empty_cache()
    return dict(gpu=name, peak_bf16_flops=peak, rows=rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--frames', type=int, default=8)
    ap.add_argument('--size', type=int, default=32); ap.add_argument('--reps', type=int, default=15)
    ap.add_argument('--device', default='auto'); ap.add_argument('--root', default='artifacts/synth/synthdive')
    ap.add_argument('--paper', action='store_true', help='also the paper-scale CUDA figures')
    ap.add_argument('--paper-batch', type=int, default=16)
    ap.add_argument('--json', default='bench/out/train.json')
    a = ap.parse_args()
    cfg = run_config(
        dict(
            device=a.device,
            data=dict(root=a.root, frames=a.frames, size=a.size),
            train=dict(batch_size=a.batch, progress=False),
        )
    )
    dev = torch.device(
        'cuda' if a.device == 'auto' and torch.cuda.is_available() else 'cpu' if a.device == 'auto' else a.device
    )
    t, four = udl_ratios(cfg, dev, a.batch, a.frames, a.size, a.reps)
    r = dict(
        udl_first_over_plain=t['first'] / t['plain'],
        udl_second_over_plain=t['second'] / t['plain'],
        every4_over_plain=four['every4'] / four['plain4'],
    )
    print(f"device {dev}, {a.batch} clips of {a.frames}x{a.size}x{a.size}, tsm_tiny + DSTS, median of {a.reps} "
          f"interleaved repetitions")
    print(f"plain step {t['plain']*1e3:7.1f} ms   UDL first {t['first']*1e3:7.1f} ms "
          f"({r['udl_first_over_plain']:.2f}x, target <= 1.5)   "
          f"UDL second {t['second']*1e3:7.1f} ms ({r['udl_second_over_plain']:.2f}x, target <= 2.0)")
    print(f"every=4: {four['every4']*1e3:7.1f} ms per 4 steps vs {four['plain4']*1e3:7.1f} plain "
          f"({r['every4_over_plain']:.3f}x, target <= 1.15)")
    out = dict(device=str(dev), torch=torch.__version__, batch=a.batch, frames=a.frames, size=a.size, step_s=t,
               every4_s=four, ratios=r)
    if Path(a.root).is_dir():
        lr = loader_ratio(cfg, dev, t['plain'])
        out['loader'] = lr
        print(
            'loader per batch / step: '
            + '   '.join(
                f"{k} {v['seconds_per_batch']*1e3:.1f} ms = {100 * v['over_step']:.1f}%" for k, v in lr.items()
            )
            + '  (target < 5%)'
        )
        with tempfile.TemporaryDirectory() as tmp:
            train({**cfg, 'train': {**cfg['train'], 'epochs': 1}}, tmp, log=lambda s: None)
            import json; tj = json.loads((Path(tmp)/'timing.json').read_text())
        out['epoch'] = tj
        print(f"one training epoch on SynthDive (with its first-epoch decoding): {tj['epoch_seconds'][0]:.1f} s, "
              f"{tj['clips_per_second'][0]:.1f} clips/s")
    else: print(f"{a.root} not found: run `make synth` for the loader and epoch figures")
    if a.paper:
        if dev.type != 'cuda': print('--paper needs CUDA: skipped')
        else: out['paper'] = paper_scale(dev, a.paper_batch, max(5, a.reps // 3))
    atomic_json(a.json, out)
    print(f'-> {a.json}')


if __name__ == '__main__':
    main()
