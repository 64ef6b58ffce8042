"""Physical constants, cuts and windows used throughout hepgen (one place, with units).

Energies, momenta and masses are in GeV; angles in radians.
"""

from __future__ import annotations

#: Muon mass [GeV] (PDG 2024).
MUON_MASS: float = 0.1056583755

#: Z boson mass [GeV] (PDG 2024), for windows and plots.
Z_MASS: float = 91.1876

#: Jet selection of the reference data set ``zjets-13tev``:
#: pT > JET_PT_MIN [GeV], |eta| < JET_ABS_ETA_MAX.
JET_PT_MIN: float = 20.0
JET_ABS_ETA_MAX: float = 5.0

#: Anti-kT radius parameter of the reference jets.
JET_RADIUS: float = 0.4

#: Jet multiplicities the generators cover (inclusive range).
MIN_JETS: int = 1
MAX_JETS: int = 3

#: Z/gamma* mass window of the hard process [GeV] (Pythia ``23:mMin``/``23:mMax``).
MLL_MIN: float = 50.0
MLL_MAX: float = 150.0

#: Zoom window around the Z peak for m_mumu plots [GeV].
Z_WINDOW: tuple[float, float] = (70.0, 110.0)

#: Centre-of-mass energy of the reference data set [GeV].
SQRT_S: float = 13000.0

#: PDG identifiers.
PDG_MUON: int = 13
PDG_Z: int = 23

#: Minimum pT of the 2 -> 2 hard process of the reference data set [GeV]
#: (Pythia ``PhaseSpace:pTHatMin``).
PTHAT_MIN: float = 10.0

#: Acceptance of the particles that enter jet clustering: |eta| < JET_INPUT_ABS_ETA_MAX.
JET_INPUT_ABS_ETA_MAX: float = 5.0

#: PDG identifiers of the neutrinos (nu_e, nu_mu, nu_tau): invisible, never clustered into jets.
PDG_NEUTRINOS: tuple[int, ...] = (12, 14, 16)

#: Network feature map (arXiv 2110.13632 representation, hepgen.physics.preprocessing):
#: jet pT enters as log(pT - JET_PT_MIN + JET_PT_LOG_OFFSET) [GeV], finite for pT at the cut.
JET_PT_LOG_OFFSET: float = 1e-2
#: Jet mass enters as log(m + JET_MASS_LOG_OFFSET) [GeV], finite for massless jets.
JET_MASS_LOG_OFFSET: float = 1.0
#: Dequantisation width of exactly massless jets [GeV] (hepgen.physics.recoil, ``-dq``
#: representations): m = 0 enters as a deterministic point of (-width, 0); generated m < 0 is 0.
MASSLESS_DEQUANT_WIDTH: float = 0.5
#: phi enters as artanh((1 - PHI_ARTANH_EPS) * phi / pi), finite at phi = +-pi (dimensionless).
PHI_ARTANH_EPS: float = 1e-6
