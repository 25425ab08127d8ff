"""Model benchmark: what the DSTS module costs on top of its backbone, as ratios measured in one run.

    python bench/model_overhead.py [--batch 32] [--frames 16] [--size 32] [--reps 20] [--device auto]

Reports, with repetitions interleaved (A B A B ...) and medians taken so that a noisy shared machine
affects both sides alike:
  * training step (forward + backward): tsm_tiny + DSTS / tsm_tiny alone      (target <= 1.10)
  * inference with hard gates:           tsm_tiny + DSTS / tsm_tiny alone      (target <= 1.05)
  * one DSTS layer, search mode (relaxed kernels) / the discretised layer
  * peak memory of a training step of each (CUDA: max allocated; CPU: peak RSS of a fresh process that
    imports, builds the model and runs one step, so it includes torch itself)
  * mixed precision: a training step of each model under bf16 autocast over the same in fp32
    (dsts.metrics.autocast; on a device without native bf16 autocast stays off and the ratio is 1)
  * the geometry: a training step of the full model on tsm_tiny8 (output stride 8: the DSTS module sees 4x4 maps at
    32x32) over the same on tsm_tiny (2x2 maps), and the map each gives the module
  * the float-path check's cost (`make repro-check`, CPU): a bf16 training step of the full model on two threads over
    the same on one, and whether its gradients differ in any bit (they must, for the check to be another float path).
    The default trains one-thread runs in parallel processes and the check one two-thread run at a time, so on two
    cores the check takes about 2 x this ratio of the default's time
The backbone of the first three is --backbone (default tsm_tiny8, the pipeline's).
"""
import argparse, json, resource, statistics, subprocess, sys, time
from pathlib import Path
import torch
from dsts.core import atomic_json
from dsts.model import build_model
from dsts.neurons import DSTSLayer
from dsts.search import MixedSTKernel
from dsts.metrics import autocast, bf16_native


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def timed(fn, dev):
    sync(dev); t = time.perf_counter(); fn(); sync(dev); return time.perf_counter() - t


def interleaved(fns: dict, reps: int, dev) -> dict:
    for f in fns.values(): f(); f()       # warm-up
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items(): times[k].append(timed(f, dev))
    return {k: statistics.median(v) for k, v in times.items()}


def models(dev, backbone='tsm_tiny'):
    return {'backbone': build_model(dict(backbone=backbone, dsts=dict(enabled=False)), 48).to(dev),
            'dsts': build_model(dict(backbone=backbone), 48).to(dev)}


def peak_memory_child(name, batch, frames, size, dev, backbone='tsm_tiny8'):
    "Peak memory of one training step of model `name`, measured in a fresh process."
    code = (f"import torch, resource; from bench.model_overhead import models; dev=torch.device('{dev}');"
            f"m=models(dev, '{backbone}')['{name}']; x=torch.randn({batch},3,{frames},{size},{size},device=dev);"
            f"m(x).sum().backward();"
            "print(torch.cuda.max_memory_allocated() if dev.type=='cuda' else "
            f"resource.getrusage(resource.RUSAGE_SELF).ru_maxrss*1024)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    if out.returncode != 0:
        print(f'peak memory of {name}: measurement failed:\n{out.stderr[-800:]}', file=sys.stderr)
        return None
    return int(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--frames', type=int, default=16)
    ap.add_argument('--size', type=int, default=32); ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--device', default='auto', help='auto | cpu | cuda')
    ap.add_argument('--backbone', default='tsm_tiny8', help='the backbone under the DSTS module (default: %(default)s)')
    ap.add_argument('--json', default='bench/out/model.json')
    a = ap.parse_args()
    dev = torch.device(
        'cuda' if a.device == 'auto' and torch.cuda.is_available() else 'cpu' if a.device == 'auto' else a.device
    )
    torch.manual_seed(0)
    ms = models(dev, a.backbone)
    x = torch.randn(a.batch, 3, a.frames, a.size, a.size, device=dev)

    def train_step(m, amp=False):
        def f():
            m.train(); m.zero_grad(set_to_none=True)
            with autocast(dev, amp): loss = m(x).float().sum()
            loss.backward()
        return f

    def infer(m):
        def f():
            m.eval()
            with torch.no_grad(): m(x)
        return f

    tr = interleaved({k: train_step(m) for k, m in ms.items()}, a.reps, dev)
    inf = interleaved({k: infer(m) for k, m in ms.items()}, a.reps, dev)
    # one layer on the backbone's feature map: relaxed (search) kernels vs the discretised ones
    with torch.no_grad(): f = ms['backbone'].backbone.forward_features(x)
    C = f.shape[1]
    mixed = DSTSLayer(C, 16, 4, kernel=MixedSTKernel(C, 16, 4)).to(dev)
    fixed = DSTSLayer(C, 16, 4, kernel=mixed.kernel.to_discrete()).to(dev)
    fr = f.detach().requires_grad_()
    lay = interleaved(
        {'search': lambda: mixed(fr).sum().backward(), 'discrete': lambda: fixed(fr).sum().backward()}, a.reps, dev
    )
    mem = {k: peak_memory_child(k, a.batch, a.frames, a.size, dev, a.backbone) for k in ms}
    amp = interleaved(
        {f'{k} {p}': train_step(m, p == 'bf16') for k, m in ms.items() for p in ('fp32', 'bf16')}, a.reps, dev
    )
    geo_models = {b: models(dev, b)['dsts'] for b in ('tsm_tiny', 'tsm_tiny8')}
    geo = interleaved({b: train_step(m) for b, m in geo_models.items()}, a.reps, dev)
    with torch.no_grad(): maps = {b: list(m.backbone.forward_features(x[:1]).shape[-2:]) for b, m in geo_models.items()}
    threads = {}
    if dev.type == 'cpu':   # one thread vs two, on the same model and input
        def on(n, f):
            def g():
                before = torch.get_num_threads(); torch.set_num_threads(n)
                try: f()
                finally: torch.set_num_threads(before)
            return g
        m = ms['dsts']
        threads = interleaved({n: on(n, train_step(m, True)) for n in (1, 2)}, a.reps, dev)
        grads = {}
        for n in (1, 2):
            on(n, train_step(m, True))(); grads[n] = [p.grad.clone() for p in m.parameters() if p.grad is not None]
        threads = dict(train_step_s={f'{n} threads': t for n, t in threads.items()},
                       same_bits=all(torch.equal(g1, g2) for g1, g2 in zip(grads[1], grads[2])))
    out = dict(device=str(dev), torch=torch.__version__, batch=a.batch, frames=a.frames, size=a.size, reps=a.reps,
               backbone=a.backbone, train_step_s=tr, infer_s=inf, layer_step_s=lay, peak_memory_bytes=mem,
               geometry=dict(train_step_s=geo, maps=maps), threads=threads, bf16_native=bf16_native(dev),
               amp_train_step_s=amp, ratios=dict(
                   train_dsts_over_backbone=tr['dsts'] / tr['backbone'],
                   infer_dsts_over_backbone=inf['dsts'] / inf['backbone'],
                   layer_search_over_discrete=lay['search'] / lay['discrete'],
                   train_tiny8_over_tiny=geo['tsm_tiny8'] / geo['tsm_tiny'],
                   **{f'train_bf16_over_fp32_{k}': amp[f'{k} bf16'] / amp[f'{k} fp32'] for k in ms},
                   **({'train_2threads_over_1thread': threads['train_step_s']['2 threads']
                       / threads['train_step_s']['1 threads']} if threads else {})))
    atomic_json(a.json, out)
    r = out['ratios']
    print(f"device {dev}, {a.batch} clips of {a.frames}x{a.size}x{a.size}, median of {a.reps} interleaved repetitions")
    print(f"train step   backbone {tr['backbone']*1e3:8.1f} ms   + DSTS {tr['dsts']*1e3:8.1f} ms   ratio "
          f"{r['train_dsts_over_backbone']:.3f} (target <= 1.10)")
    print(f"inference    backbone {inf['backbone']*1e3:8.1f} ms   + DSTS {inf['dsts']*1e3:8.1f} ms   ratio "
          f"{r['infer_dsts_over_backbone']:.3f} (target <= 1.05)")
    print(f"DSTS layer   discrete {lay['discrete']*1e3:8.1f} ms   search {lay['search']*1e3:8.1f} ms   ratio "
          f"{r['layer_search_over_discrete']:.3f}")
    print("peak memory  " + '   '.join(f"{k} {v / 2**20:.0f} MiB" if v else f"{k} n/a" for k, v in mem.items()))
    print(f"geometry     full model on tsm_tiny ({'x'.join(map(str, maps['tsm_tiny']))} maps) "
          f"{geo['tsm_tiny']*1e3:8.1f} ms   "
          f"on tsm_tiny8 ({'x'.join(map(str, maps['tsm_tiny8']))}) {geo['tsm_tiny8']*1e3:8.1f} ms   ratio "
          f"{r['train_tiny8_over_tiny']:.3f}")
    print('bf16 autocast ' + ('(native)' if out['bf16_native'] else '(not native here: off)') + '   ' + '   '.join(
        f"{k} {amp[f'{k} fp32']*1e3:.1f} -> {amp[f'{k} bf16']*1e3:.1f} ms, "
        f"ratio {r[f'train_bf16_over_fp32_{k}']:.3f}" for k in ms))
    if threads:
        t = threads['train_step_s']
        print(
            f"threads      bf16 step of the full model on 1 thread {t['1 threads']*1e3:.1f} ms, on 2 "
            f"{t['2 threads']*1e3:.1f} ms, ratio "
            f"{r['train_2threads_over_1thread']:.3f}; gradients "
            f"{'bitwise the same' if threads['same_bits'] else 'differ in their bits'}: "
            f"the threads check takes about {2 * r['train_2threads_over_1thread']:.2f} x the default's time on 2 cores"
        )
    print(f'-> {a.json}')


if __name__ == '__main__':
    main()
