"""QINN training throughput per device and qubit count, and hepgen's overhead over the bare
circuit (issue 4).

For each qubit count and (device, diff method):

* **bare**: the QNode alone — forward and backward of the conditioner circuit for a batch of
  events (angles and circuit weights both trainable), repeated once per quantum block;
* **hepgen**: one full training step of a ``qinn`` with the same circuits (encoder, circuit,
  head, coupling transform, NLL, backward, Adam step) on 9-dim Z + 1 jet-sized features.

Training throughput = batch / step time; overhead = hepgen step time / bare time (same batch,
same process, interleaved repeats; medians). Usage::

    python benchmarks/bench_quantum_throughput.py --qubits 4,6,8,10 --repeats 5
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import machine, median, save_json, table, update_section

from hepgen.generators.base import get
from hepgen.quantum.circuits import CircuitConfig
from hepgen.quantum.devices import Execution, for_gradients, make_qnode

DIM = 9
#: (device, diff_method, batch): lightning+adjoint runs one circuit per event, so it gets a
#: smaller batch to keep the run short; throughput is per event either way.
SETUPS = [("default.qubit", "backprop", 256), ("lightning.qubit", "adjoint", 32)]


def bare_step(qnode, batch: int, circuit: CircuitConfig, n_blocks: int) -> float:
    """Seconds for n_blocks x (QNode forward + backward) on ``batch`` events."""
    angles = torch.rand(batch, circuit.n_layers, circuit.n_qubits, requires_grad=True)
    weights = torch.rand(circuit.weight_shape, requires_grad=True)
    start = time.perf_counter()
    for _ in range(n_blocks):
        out = torch.stack(list(qnode(angles, weights)), dim=-1)
        out.sum().backward()
    return time.perf_counter() - start


def hepgen_step(model, optimizer, x: torch.Tensor) -> float:
    start = time.perf_counter()
    loss = model.loss(x, None)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def measure(n_qubits: int, device: str, method: str, batch: int, layers: int, n_blocks: int,
            repeats: int) -> dict:
    circuit = CircuitConfig(n_qubits=n_qubits, n_layers=layers)
    execution = Execution(device, method)
    qnode = for_gradients(make_qnode(circuit, execution), execution)  # as hepgen trains
    model = get("qinn")(DIM, 0, {"n_blocks": n_blocks, "n_qubits": n_qubits,
                                 "q_layers": layers, "qdevice": device, "diff_method": method})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, DIM)
    bare_step(qnode, batch, circuit, n_blocks)  # warm-up (device construction, caches)
    hepgen_step(model, optimizer, x)
    bare, full = [], []
    for _ in range(repeats):  # interleaved: both see the same machine load
        bare.append(bare_step(qnode, batch, circuit, n_blocks))
        full.append(hepgen_step(model, optimizer, x))
    return {"qubits": n_qubits, "device": device, "diff_method": method, "batch": batch,
            "layers": layers, "quantum_blocks": n_blocks, "bare_s": median(bare),
            "hepgen_s": median(full), "events_per_s": batch / median(full),
            "bare_events_per_s": batch / median(bare), "overhead": median(full) / median(bare),
            "params": sum(p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="4,6,8,10")
    parser.add_argument("--layers", type=int, default=3, help="circuit layers (default 3)")
    parser.add_argument("--blocks", type=int, default=2, help="quantum blocks (default 2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lightning-max-qubits", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for n in [int(q) for q in args.qubits.split(",")]:
        for device, method, batch in SETUPS:
            if device.startswith("lightning") and n > args.lightning_max_qubits:
                continue
            r = measure(n, device, method, batch, args.layers, args.blocks, args.repeats)
            rows.append(r)
            print(f"{n:2d} qubits {device:16s} {method:9s} B={batch:4d}: "
                  f"{r['events_per_s']:8.1f} ev/s (bare {r['bare_events_per_s']:8.1f}), "
                  f"overhead x{r['overhead']:.2f}", flush=True)
    save_json("quantum_throughput", {"rows": rows, "threads": args.threads,
                                     "layers": args.layers, "blocks": args.blocks})
    speedup = []
    for n in sorted({r["qubits"] for r in rows}):
        by = {r["device"]: r for r in rows if r["qubits"] == n}
        if len(by) == 2:
            ratio = by["default.qubit"]["events_per_s"] / by["lightning.qubit"]["events_per_s"]
            speedup.append(f"{n} qubits: x{ratio:.1f}")
    body = table(
        ["qubits", "device / gradient", "batch", "train ev/s (hepgen step)",
         "bare circuit ev/s", "hepgen / bare time"],
        [[r["qubits"], f"{r['device']} / {r['diff_method']}", r["batch"],
          f"{r['events_per_s']:.0f}", f"{r['bare_events_per_s']:.0f}", f"{r['overhead']:.2f}"]
         for r in rows])
    body += (
        f"\n\nOne training step of a `qinn` with {args.blocks} quantum coupling blocks "
        f"({args.layers} layers, Z readout, affine couplings) on {DIM}-dim features, "
        f"{args.threads} torch thread(s); bare = the same {args.blocks} QNode forward+backward "
        f"passes alone. Medians of {args.repeats} interleaved repeats. default.qubit (backprop, "
        f"broadcast) over lightning.qubit (adjoint) in events/s: {'; '.join(speedup)}.\n"
    )
    update_section("quantum-throughput", "QINN training throughput per device (issue 4)", body)
    print(machine())


if __name__ == "__main__":
    main()
