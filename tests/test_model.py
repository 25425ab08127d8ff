"""The model components used the way a user would: a DSTS layer dropped into someone else's network,
the assembled classifier training for a few steps, and the CUDA path where a GPU is present."""
import pytest, torch, torch.nn as nn, torch.nn.functional as F
from dsts.neurons import DSTSLayer
from dsts.model import build_model, count_flops
from dsts.search import arch_parameters, weight_parameters, arch_step, genotype


class UsersModel(nn.Module):
    "A model that is not ours: a 3D stem, one DSTS layer, a head."
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv3d(3, 24, 3, stride=(1, 2, 2), padding=1)
        self.dsts = DSTSLayer(24, N=6, g=2)
        self.fc = nn.Linear(24, 5)

    def forward(self, x): return self.fc(self.dsts(F.relu(self.stem(x))).mean((2, 3, 4)))


def test_dsts_layer_in_a_users_model_trains():
    torch.manual_seed(0)
    m = UsersModel()
    opt = torch.optim.SGD(m.parameters(), 0.1)
    x, y = torch.randn(8, 3, 4, 16, 16), torch.randint(0, 5, (8,))
    first = None
    for _ in range(15):
        loss = F.cross_entropy(m(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    assert m.dsts.score.weight.grad.abs().sum() > 0          # the gates are trained
    assert m.dsts.gates.shape == (8, 6) and m.dsts.rate.shape == (6,)


def test_search_then_discretise_then_rebuild(tmp_path):
    torch.manual_seed(0)
    net = build_model(dict(dsts=dict(st='search', layers=1, neurons=4)), 3)
    w_opt = torch.optim.SGD(weight_parameters(net), 0.05)
    a_opt = torch.optim.Adam(arch_parameters(net), 0.05)
    ce = lambda m, x, y: F.cross_entropy(m(x), y)
    batch = lambda: (torch.randn(4, 3, 4, 32, 32), torch.randint(0, 3, (4,)))
    for _ in range(2):                              # a bilevel step: alpha on one batch, then the weights on another
        tb = batch(); arch_step(net, ce, tb, batch(), a_opt)
        w_opt.zero_grad(); ce(net, *tb).backward(); w_opt.step()
    import json
    (tmp_path/'arch.json').write_text(json.dumps(genotype(net)))
    fixed = build_model(dict(dsts=dict(st='arch', arch=str(tmp_path/'arch.json'), layers=1, neurons=4)), 3)
    assert fixed(torch.randn(2, 3, 4, 32, 32)).shape == (2, 3)
    assert not arch_parameters(fixed)


@pytest.mark.cuda
def test_cuda_forward_backward_and_flops():
    dev = torch.device('cuda')
    for backbone in ('tsm_tiny', 'timesformer_tiny'):
        m = build_model(dict(backbone=backbone), 48).to(dev).to(memory_format=torch.channels_last_3d)
        x = torch.randn(4, 3, 8, 32, 32, device=dev)
        with torch.autocast('cuda', dtype=torch.bfloat16):
            out = m(x)
        out.float().sum().backward()
        assert out.shape == (4, 48) and out.device.type == 'cuda'
        assert all(s['gates'].device.type == 'cuda' for s in m.dsts.stats())
        f = count_flops(m, x)
        assert f['dense'] > f['expected'] > 0
