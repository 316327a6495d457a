#!/usr/bin/python3
"""PyTorch peer of bench/nets.ts: trains one net exactly as the nn-ts child does and prints one JSON line.

    /usr/bin/python3 bench/torch_nets.py --job JOB.json     # run by bench/nets.ts, not by hand
    /usr/bin/python3 bench/torch_nets.py --probe            # versions, threads and OpenBLAS build as JSON

The parent (bench/nets.ts) writes the job: the layers (the same description nn-ts and TensorFlow.js build
from), nn-ts's initial parameters and running statistics (float32, with their tree paths: a dense layer's
W is [in, out], so nn.Linear.weight is its transpose), every epoch's row order (int32 row indices into the
MNIST training file, cut into consecutive batches as nn-ts does) and every step's learning rate (float64,
from nn-ts's own schedule). Adam is torch's with nn-ts's constants (b1 0.9, b2 0.999, eps added to the
bias-corrected root, 1e-8); the loss is the batch mean of softmax cross-entropy. BatchNorm's keepRunning k
is torch's momentum 1 - k; torch updates the running variance with the unbiased batch variance where
nn-ts uses the biased one, which changes eval-mode outputs slightly, not training. This
script reads the MNIST IDX files itself and scales pixels by 1/255 in float32, which is bit-identical to
nn-ts's table of b / 255 (checked for all 256 bytes).

Timing as in the other children: one warm-up epoch, then the timed epochs (wall and CPU seconds each);
then inference on the test set in eval mode under torch.inference_mode, one warm-up pass and the median
of the timed passes. Peak RSS is ru_maxrss.

Threads: the job lists candidate counts of torch intra-op threads (torch.set_num_threads, OpenMP) and of
OpenBLAS threads (openblas_set_num_threads; the parent sets OPENBLAS_NUM_THREADS to the largest so the
pool exists). With more than one setting, a calibration picks the fastest before anything is timed:
rounds of CALIBRATION_STEPS training steps on a copy of the model (the measured model keeps nn-ts's
initial weights), every setting once per round, best round per setting; inference is calibrated the same
way with whole passes. On a 2-core machine the fastest setting depends on the load (under load, two
OpenMP threads spin at every barrier while the other thread waits for a core), so it is chosen in the
run whose figures it produces, and reported with them: settings, calibration times, the OpenBLAS build
and the core kernel it chose, read from the library itself (openblas_get_config / openblas_get_corename).
"""
import argparse
import copy
import ctypes
import itertools
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

INSTALL_HINT = "apt-get install -y python3-torch libopenblas0-pthread"

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as error:  # the parent probes first; this is the message a person running it sees
    sys.stderr.write(f"torch_nets: {error}; install: {INSTALL_HINT}, and run /usr/bin/python3\n")
    sys.exit(3)


CALIBRATION_STEPS = 40
CALIBRATION_ROUNDS = 3


def openblas_library():
    """The OpenBLAS this process loaded (through torch's BLAS) as (path, ctypes handle), or None."""
    # One small product first so the BLAS library is loaded.
    torch.ones(2, 2) @ torch.ones(2, 2)
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "openblas" in path and ".so" in path:
                paths.add(path)
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
            return path, lib
        except (OSError, AttributeError):
            continue
    return None


def openblas_info():
    found = openblas_library()
    if found is None:
        return None
    path, lib = found
    return {
        "library": path,
        "config": lib.openblas_get_config().decode(),
        "core": lib.openblas_get_corename().decode(),
        "threads": lib.openblas_get_num_threads(),
    }


def set_threads(setting):
    """(torch intra-op threads, OpenBLAS threads); the second is ignored when BLAS is not OpenBLAS."""
    torch_threads, blas_threads = setting
    torch.set_num_threads(torch_threads)
    found = openblas_library()
    if found is not None:
        found[1].openblas_set_num_threads(blas_threads)


def calibrate(settings, work):
    """The setting whose best of CALIBRATION_ROUNDS runs of `work()` is fastest, and every setting's best."""
    if len(settings) == 1:
        return settings[0], []
    best = {setting: math.inf for setting in settings}
    for _ in range(CALIBRATION_ROUNDS):
        for setting in settings:
            set_threads(setting)
            t0 = time.perf_counter()
            work()
            best[setting] = min(best[setting], time.perf_counter() - t0)
    chosen = min(settings, key=lambda setting: best[setting])
    return chosen, [{"torchThreads": t, "openblasThreads": b, "seconds": best[(t, b)]} for t, b in settings]


def environment():
    blas = openblas_info()
    return {
        "python": sys.executable,
        "torch": torch.__version__,
        "intraOpThreads": torch.get_num_threads(),
        "openblas": blas,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")},
    }


def read_idx_bytes(path):
    """An unsigned-byte IDX file (magic 0x00000800 | ndim) as a numpy uint8 array of its dimensions."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != math.prod(dims):
        raise ValueError(f"{path}: header says {dims} ({math.prod(dims)} bytes), body has {values.size}")
    return values.reshape(dims)


def build_model(layers):
    """The nn-ts layer list as torch modules; BatchNorm's keepRunning k is torch momentum 1 - k."""
    modules = []
    for layer in layers:
        op = layer["op"]
        if op == "dense":
            modules.append(nn.Linear(layer["in"], layer["out"]))
        elif op == "batchNorm":
            modules.append(nn.BatchNorm1d(layer["features"], eps=layer["eps"], momentum=1 - layer["keepRunning"]))
        elif op == "relu":
            modules.append(nn.ReLU())
        else:
            raise ValueError(f"unknown layer op {op!r}")
    return nn.Sequential(*modules)


def load_initial(model, layers, leaves, flat):
    """Copies nn-ts's initial parameters and running statistics (paths like '[3].W') into the model."""
    by_path = {}
    for leaf in leaves:
        n = math.prod(leaf["shape"])
        by_path[leaf["path"]] = torch.from_numpy(flat[leaf["offset"] : leaf["offset"] + n].reshape(leaf["shape"]).copy())
    used = set()

    def take(i, name, shape):
        path = f"[{i}].{name}"
        value = by_path[path]
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{path}: nn-ts shape {tuple(value.shape)}, torch expects {tuple(shape)}")
        used.add(path)
        return value

    with torch.no_grad():
        for i, (layer, module) in enumerate(zip(layers, model)):
            if layer["op"] == "dense":
                # nn-ts computes x·W + b with W [in, out]; nn.Linear computes x·weightᵀ + bias.
                module.weight.copy_(take(i, "W", (layer["in"], layer["out"])).t())
                module.bias.copy_(take(i, "b", (layer["out"],)))
            elif layer["op"] == "batchNorm":
                f = layer["features"]
                module.weight.copy_(take(i, "gamma", (f,)))
                module.bias.copy_(take(i, "beta", (f,)))
                module.running_mean.copy_(take(i, "runningMean", (f,)))
                module.running_var.copy_(take(i, "runningVar", (f,)))
    unused = set(by_path) - used
    if unused:
        raise ValueError(f"nn-ts leaves with no torch counterpart: {sorted(unused)}")


def batch_inputs(images, rows):
    return images.index_select(0, rows).float().div_(255)


def evaluate(model, images, labels, rows, batch_size):
    """Eval-mode mean loss and error over `rows` in consecutive batches (what Train.evaluate reports)."""
    model.eval()
    loss_sum, errors = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(rows), batch_size):
            r = rows[s : s + batch_size]
            logits = model(batch_inputs(images, r))
            y = labels.index_select(0, r)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            errors += int((logits.argmax(1) != y).sum())
    model.train()
    return loss_sum / len(rows), errors / len(rows)


def run(job):
    settings = list(itertools.product(job["threads"]["torch"], job["threads"]["openblas"]))
    files = job["mnist"]
    train_images = torch.from_numpy(read_idx_bytes(files["trainImages"]).reshape(-1, 784).copy())
    train_labels = torch.from_numpy(read_idx_bytes(files["trainLabels"]).astype(np.int64))
    test_images = torch.from_numpy(read_idx_bytes(files["testImages"]).reshape(-1, 784).copy())
    test_labels = torch.from_numpy(read_idx_bytes(files["testLabels"]).astype(np.int64))

    layers = job["layers"]
    model = build_model(layers)
    flat = np.fromfile(job["paramsFile"], dtype="<f4")
    load_initial(model, layers, job["leaves"], flat)
    model.train()
    epochs, rows_per_epoch, batch_size = job["epochs"], job["trainRows"], job["batchSize"]
    rates = np.fromfile(job["ratesFile"], dtype="<f8").tolist()
    steps_per_epoch = -(-rows_per_epoch // batch_size)
    if len(rates) != (epochs + 1) * steps_per_epoch:
        raise ValueError(f"{job['ratesFile']}: {len(rates)} rates for {(epochs + 1) * steps_per_epoch} steps")
    optimizer = torch.optim.Adam(model.parameters(), lr=rates[0], betas=(0.9, 0.999), eps=1e-8)
    orders = torch.from_numpy(np.fromfile(job["orderFile"], dtype="<i4").astype(np.int64)).reshape(epochs + 1, rows_per_epoch)
    validation = None if job["validationFile"] is None else torch.from_numpy(np.fromfile(job["validationFile"], dtype="<i4").astype(np.int64))

    def train_step(model, optimizer, rows, rate):
        x = batch_inputs(train_images, rows)
        y = train_labels.index_select(0, rows)
        for group in optimizer.param_groups:
            group["lr"] = rate
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    # Calibration on copies: the measured model and optimizer stay at nn-ts's initial state.
    probe_model = copy.deepcopy(model)
    probe_optimizer = torch.optim.Adam(probe_model.parameters(), lr=rates[0], betas=(0.9, 0.999), eps=1e-8)
    probe_rows = [orders[0][s : s + batch_size] for s in range(0, min(rows_per_epoch, CALIBRATION_STEPS * batch_size), batch_size)]

    def probe_training():
        for rows in probe_rows:
            train_step(probe_model, probe_optimizer, rows, rates[0])

    train_setting, train_calibration = calibrate(settings, probe_training)
    del probe_model, probe_optimizer
    set_threads(train_setting)

    step = 0
    times, cpu = [], []
    loss_mean = float("nan")
    val = None
    for epoch in range(epochs + 1):
        order = orders[epoch]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        loss_sum = 0.0
        for s in range(0, rows_per_epoch, batch_size):
            rows = order[s : s + batch_size]
            loss_sum += train_step(model, optimizer, rows, rates[step]) * len(rows)
            step += 1
        if validation is not None:
            val = evaluate(model, train_images, train_labels, validation, job["validationBatchSize"])
        wall, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
        loss_mean = loss_sum / rows_per_epoch
        if epoch > 0:
            times.append(wall)
            cpu.append(cpu_s)

    # Inference: the test set as float batches made before the clock starts, forward passes only.
    model.eval()
    pb = job["predictBatchSize"]
    batches = [test_images[s : s + pb].float().div_(255) for s in range(0, test_images.shape[0], pb)]
    pass_times = []
    with torch.inference_mode():
        predict_setting, predict_calibration = calibrate(settings, lambda: [model(x) for x in batches])
        set_threads(predict_setting)
        for rep in range(job["predictReps"] + 1):
            t0 = time.perf_counter()
            outputs = [model(x) for x in batches]
            if rep > 0:
                pass_times.append(time.perf_counter() - t0)
        predicted = torch.cat(outputs).argmax(1)
    accuracy = float((predicted == test_labels).double().mean())

    env = environment()
    blas = env["openblas"]
    backend = f"torch {env['torch']}, training {train_setting[0]} intra-op + {train_setting[1]} OpenBLAS threads, predict {predict_setting[0]} + {predict_setting[1]}" + (
        f", OpenBLAS core {blas['core']}" if blas else ", BLAS: not OpenBLAS"
    )
    return {
        "framework": "pytorch",
        "net": job["net"],
        "trainRows": rows_per_epoch,
        "epochSeconds": times,
        "epochCpuSeconds": cpu,
        "finalLoss": loss_mean,
        "validation": None if val is None else {"loss": val[0], "error": val[1]},
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": backend,
        "threads": {
            "training": {"torchThreads": train_setting[0], "openblasThreads": train_setting[1], "calibration": train_calibration},
            "predict": {"torchThreads": predict_setting[0], "openblasThreads": predict_setting[1], "calibration": predict_calibration},
        },
        "predict": {
            "batchSize": pb,
            "images": int(test_images.shape[0]),
            "seconds": pass_times,
            "imagesPerSecond": test_images.shape[0] / statistics.median(pass_times),
            "testAccuracy": accuracy,
        },
        "environment": env,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--job", help="the job file bench/nets.ts writes")
    parser.add_argument("--probe", action="store_true", help="print versions, threads and the OpenBLAS build, then exit")
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(environment()))
        return
    if args.job is None:
        parser.error("--job or --probe is required")
    with open(args.job) as f:
        job = json.load(f)
    print(json.dumps(run(job)))


if __name__ == "__main__":
    main()
