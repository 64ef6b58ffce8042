"""Event representations (events <-> network features) by name, and loading a saved one.

``particles`` (:class:`~hepgen.physics.preprocessing.EventPreprocessor`, arXiv 2110.13632):
pT, eta, phi (relative to the leading muon), mass of every object. ``recoil``
(:class:`~hepgen.physics.recoil.RecoilPreprocessor`): leading jet, the event's pT balance, the
dimuon rapidity and mass and the decay direction, then the further jets; ``recoil-deta``
(:class:`~hepgen.physics.recoil.RecoilDeltaEtaPreprocessor`): the same with the further jets'
eta relative to the leading jet's; ``recoil-jetaxis``
(:class:`~hepgen.physics.recoil.RecoilJetAxisPreprocessor`): the decay angles about the leading
jet's direction in the dimuon rest frame; ``recoil-cone``
(:class:`~hepgen.physics.recoil.RecoilConePreprocessor`): ``recoil-jetaxis`` with the further
jets' exclusion cone about the leading jet closed; ``recoil-cone-deta``: the same with the
further jets' eta relative to the leading jet's; ``recoil-cone-log`` and
``recoil-cone-sqrt-dq``: other radial profiles of the closed cone; ``recoil-cones-log-dq``: the
third jet's cone closed about the second jet instead of the leading one;
``recoil-cones-both-log-dq``: about both; ``-shared``: the cone
about the leading jet with at most the radius of the one about the second; ``-tight``: the
cones' radius fitted closer to the smallest separation; ``recoil-cones-shared-flat``:
``-shared`` with the radial profile inside the leading jet's squeezed disk fitted on the
training data (:class:`~hepgen.physics.radial_profile.RadialProfile`);
``recoil-cones-shared-deta`` (the shipped fast generator's): ``-shared`` with the further
jets' eta relative to the leading jet's; ``recoil-cones-shared-deta-mll`` (the shipped
default's): that with the dimuon mass in the chart of the generation window
(:class:`~hepgen.physics.mass_window.MassWindowTransform`); ``-dq``: exactly massless jets
dequantised; ``-ratio``, ``-pair``, ``-bipolar``: other charts of the pT balance. All have
D = 5 + 4 n.
"""

from __future__ import annotations

from typing import Any

from hepgen.physics.preprocessing import EventPreprocessor
from hepgen.physics.recoil import (
    RecoilConeDeltaEtaPreprocessor,
    RecoilConeLogDequantBipolarPreprocessor,
    RecoilConeLogDequantPairPreprocessor,
    RecoilConeLogDequantPreprocessor,
    RecoilConeLogDequantRatioPreprocessor,
    RecoilConeLogPreprocessor,
    RecoilConePreprocessor,
    RecoilConesBothLogDequantPreprocessor,
    RecoilConesBothTightPreprocessor,
    RecoilConesLogDequantPreprocessor,
    RecoilConeSqrtDequantPreprocessor,
    RecoilConesSharedDeltaEtaMassPreprocessor,
    RecoilConesSharedDeltaEtaPreprocessor,
    RecoilConesSharedFlatPreprocessor,
    RecoilConesSharedPreprocessor,
    RecoilDeltaEtaPreprocessor,
    RecoilJetAxisPreprocessor,
    RecoilPreprocessor,
)

#: Representation name -> preprocessor class.
REPRESENTATIONS: dict[str, type[EventPreprocessor]] = {
    "particles": EventPreprocessor,
    "recoil": RecoilPreprocessor,
    "recoil-deta": RecoilDeltaEtaPreprocessor,
    "recoil-jetaxis": RecoilJetAxisPreprocessor,
    "recoil-cone": RecoilConePreprocessor,
    "recoil-cone-deta": RecoilConeDeltaEtaPreprocessor,
    "recoil-cone-log": RecoilConeLogPreprocessor,
    "recoil-cone-log-dq": RecoilConeLogDequantPreprocessor,
    "recoil-cone-sqrt-dq": RecoilConeSqrtDequantPreprocessor,
    "recoil-cones-log-dq": RecoilConesLogDequantPreprocessor,
    "recoil-cones-both-log-dq": RecoilConesBothLogDequantPreprocessor,
    "recoil-cones-both-log-dq-tight": RecoilConesBothTightPreprocessor,
    "recoil-cones-both-log-dq-shared": RecoilConesSharedPreprocessor,
    "recoil-cones-shared-flat": RecoilConesSharedFlatPreprocessor,
    "recoil-cones-shared-deta": RecoilConesSharedDeltaEtaPreprocessor,
    "recoil-cones-shared-deta-mll": RecoilConesSharedDeltaEtaMassPreprocessor,
    "recoil-cone-log-dq-ratio": RecoilConeLogDequantRatioPreprocessor,
    "recoil-cone-log-dq-pair": RecoilConeLogDequantPairPreprocessor,
    "recoil-cone-log-dq-bipolar": RecoilConeLogDequantBipolarPreprocessor,
}


def make_preprocessor(n_jets: int, representation: str = "particles") -> EventPreprocessor:
    """An unfitted preprocessor of ``n_jets`` jets in the named representation."""
    try:
        cls = REPRESENTATIONS[representation]
    except KeyError:
        raise ValueError(f"representation must be one of {sorted(REPRESENTATIONS)}, got "
                         f"{representation!r}") from None
    return cls(n_jets)


def preprocessor_from_state(state: dict[str, Any]) -> EventPreprocessor:
    """Rebuild a fitted preprocessor from its ``state_dict`` (dispatching on its format)."""
    for cls in REPRESENTATIONS.values():
        if state.get("format") == cls.FORMAT:
            return cls.from_state_dict(state)
    raise ValueError(f"unknown preprocessing format {state.get('format')!r}; known: "
                     f"{[c.FORMAT for c in REPRESENTATIONS.values()]}")
