"""Half-precision storage helpers (hepgen.generators.compact)."""

from __future__ import annotations

import torch

from hepgen.flows.inn import CouplingINN, INNConfig
from hepgen.generators.compact import half_extra, round_parameters_


def test_round_parameters_rounds_every_parameter_and_no_buffer():
    torch.manual_seed(0)
    flow = CouplingINN(4, 2, INNConfig(n_blocks=2, kind="spline", hidden=8))
    params = {k: v.clone() for k, v in flow.named_parameters()}
    buffers = {k: v.clone() for k, v in flow.named_buffers()}
    assert buffers  # the fixed rotations
    names = round_parameters_(flow)
    assert sorted(names) == sorted(params)
    for k, v in flow.named_parameters():
        assert v.dtype == torch.float32 and torch.equal(v, params[k].half().float())
        assert (v - params[k]).abs().max() <= params[k].abs().max() * 2.0**-11
    for k, v in flow.named_buffers():
        assert torch.equal(v, buffers[k])
    assert round_parameters_(flow) == names  # rounding twice changes nothing
    assert all(torch.equal(v, params[k].half().float()) for k, v in flow.named_parameters())


def test_extra_parameters_by_name_buffers_kept():
    extra = {"disc1.members.0.net.0.weight": torch.tensor([0.1234567, 3.0]),
             "disc1.members.0.net.0.bias": torch.tensor([1e-3]),
             "disc1.members.0.encoder.mean": torch.tensor([91.18765]),
             "disc1.members.0.encoder.log_mask": torch.tensor([True, False])}
    half = half_extra(extra)
    assert half["disc1.members.0.net.0.weight"].dtype == torch.float16
    assert half["disc1.members.0.net.0.bias"].dtype == torch.float16
    assert half["disc1.members.0.encoder.mean"] is extra["disc1.members.0.encoder.mean"]
    assert half["disc1.members.0.encoder.log_mask"].dtype == torch.bool
    # read into a float32 network (load_state_dict copies), the values are the rounded ones
    net = torch.nn.Linear(2, 1)
    net.load_state_dict({"weight": half["disc1.members.0.net.0.weight"][None, :],
                         "bias": half["disc1.members.0.net.0.bias"]})
    back = net.weight.detach()[0]
    assert back.dtype == torch.float32
    assert torch.equal(back, half["disc1.members.0.net.0.weight"].float())
    assert not torch.equal(back, extra["disc1.members.0.net.0.weight"])
