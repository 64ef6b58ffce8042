"""Half-precision storage of a trained generator: network parameters as float16.

A generator directory's ``weights.pt`` holds float32 tensors. Storing the *parameters* (the
weights and biases of every flow, photon-jet splitter and reweighting discriminator) as float16
halves the file; the buffers (fixed rotations, whose transposes are their inverses;
standardisations; masks) stay float32, and so do the preprocessing states in
``generator.json``. The compacted generator is a different generator: it samples from the
rounded weights (relative change <= 2^-11 per weight). Loading needs nothing special:
``load_state_dict`` copies the float16 values into the float32 parameters, exactly, so a
compacted generator loads to the very networks this module rounded (saved -> loaded samples are
identical). Its figures must be measured again (benchmarks/RESULTS.md, "Half-precision storage
of the shipped default").
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

#: the extra tensors (reweighting discriminators: MLPs) that are learned end in one of these
#: names (``nn.Linear``'s weight and bias); the others are buffers (standardisations, masks)
PARAMETER_SUFFIXES: tuple[str, ...] = ("weight", "bias")


def round_parameters_(module: nn.Module) -> list[str]:
    """Round every floating-point parameter of ``module`` to float16 precision, in place
    (float32 storage kept); returns the rounded parameters' names."""
    names = []
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.is_floating_point():
                p.copy_(p.half().to(p.dtype))
                names.append(name)
    return names


def half_extra(extra: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The extra tensors of a generator (reweighting discriminators) with their parameters
    (names ending in :data:`PARAMETER_SUFFIXES`) as float16 and the rest unchanged; loaded
    into the float32 discriminators (``load_state_dict`` copies), they give the rounded nets."""
    return {k: v.half() if _is_parameter(k, v) else v for k, v in extra.items()}


def _is_parameter(name: str, tensor: Tensor) -> bool:
    return tensor.is_floating_point() and name.rsplit(".", 1)[-1] in PARAMETER_SUFFIXES

