"""Training throughput of DPS-topK on pixel MNIST: dps (libtorch through tch) against an
equivalent PyTorch eager script, measured in the same run with the same thread count.

Both train the same system for one epoch over the 60,000 training images: DPS-topK selecting
25 of 784 pixels (Gumbel top-k forward, straight-through sum of M masked softmax rows at
temperature 2 backward), the MLP 784-784-256-128-128-10 with LeakyReLU(0.2) and dropout 0.3,
cross-entropy, Adam (beta1 0.9, beta2 0.999, eps 1e-7) with learning rates 2e-4 (network) and
2e-3 (logits), batch 256. Only the training loop is timed, as dps's `examples_per_second`.

PyTorch runs twice: with the relaxation as the method states it (M soft rows of N candidates
per example, a (B, M, N) tensor) and with the (B, N) form of the same sum that dps uses (each
candidate's softmax weight times the sum of 1 / D_k over the rows that still offer it). Both give
the same gradient; the second row shows how much of the gap is the formulation and how much the
runtime.

Usage (from the repository root, after scripts/setup.sh and scripts/fetch_mnist.sh):

    ~/.cache/dps/libtorch-2.13.0/bin/python scripts/bench_train.py [--threads 2] [--repeats 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class TopK(torch.nn.Module):
    def __init__(self, candidates, picks, temperature):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.randn(candidates) * 0.5)
        self.picks = picks
        self.temperature = temperature

    def forward(self, batch):
        u = torch.rand(batch, self.logits.numel()).clamp_min(1e-20)
        perturbed = self.logits.unsqueeze(0) - torch.log(-torch.log(u))
        _, indices = perturbed.topk(self.picks, dim=-1)
        hard = torch.zeros_like(perturbed).scatter_(1, indices, 1.0)
        one_hot = torch.zeros(batch, self.picks, perturbed.shape[1]).scatter_(
            2, indices.unsqueeze(-1), 1.0
        )
        earlier = one_hot.cumsum(1) - one_hot
        rows = perturbed.unsqueeze(1).expand(-1, self.picks, -1).masked_fill(
            earlier > 0.5, float("-inf")
        )
        soft = (rows / self.temperature).softmax(-1).sum(1)
        return hard + soft - soft.detach()


class TopKSummed(TopK):
    """The same relaxation, summed over the rows without forming them."""

    def forward(self, batch):
        u = torch.rand(batch, self.logits.numel()).clamp_min(1e-20)
        perturbed = self.logits.unsqueeze(0) - torch.log(-torch.log(u))
        _, indices = perturbed.topk(self.picks, dim=-1)
        hard = torch.zeros_like(perturbed).scatter_(1, indices, 1.0)
        scaled = perturbed / self.temperature
        e = (scaled - scaled.amax(-1, keepdim=True).detach()).exp()
        picked = e.gather(1, indices)
        unpicked = (e * (1.0 - hard)).sum(1, keepdim=True)
        offered = picked.flip(1).cumsum(1).flip(1) + unpicked
        row_weights = offered.reciprocal().cumsum(1)
        every_row = row_weights[:, -1:].expand(-1, e.shape[1])
        soft = e * every_row.scatter(1, indices, row_weights)
        return hard + soft - soft.detach()


def classifier():
    layers = []
    widths = [784, 784, 256, 128, 128, 10]
    for index, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        linear = torch.nn.Linear(a, b)
        torch.nn.init.xavier_uniform_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if index < len(widths) - 2:
            layers.append(torch.nn.LeakyReLU(0.2))
            if index < 3:
                layers.append(torch.nn.Dropout(0.3))
    return torch.nn.Sequential(*layers)


def pytorch_epoch(images, labels, batch_size, sampler_class):
    sampler = sampler_class(784, 25, 2.0)
    network = classifier()
    optimiser = torch.optim.Adam(
        [
            {"params": network.parameters(), "lr": 2e-4},
            {"params": sampler.parameters(), "lr": 2e-3},
        ],
        betas=(0.9, 0.999),
        eps=1e-7,
    )
    order = torch.randperm(images.shape[0])
    start = time.perf_counter()
    for first in range(0, images.shape[0], batch_size):
        index = order[first : first + batch_size]
        x, y = images[index], labels[index]
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(network(x * sampler(x.shape[0])), y)
        loss.backward()
        optimiser.step()
    return images.shape[0] / (time.perf_counter() - start)


def dps_epoch(binary, data_dir, threads, subset):
    with tempfile.TemporaryDirectory() as output:
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
        subprocess.run(
            [
                binary, "-q", "run", "pipelines/mnist/dps_topk_pixel.yaml",
                "--set", f"data.dir={data_dir}",
                "--set", "train.epochs=1",
                "--set", "train.batch_size=256",
                "--set", f"data.train_subset={subset}",
                "--set", "evaluation.passes=1",
                "--set", f"output={output}",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        with open(os.path.join(output, "metrics.jsonl")) as f:
            return json.loads(f.readline())["examples_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--binary", default="target/release/dps")
    parser.add_argument("--subset", type=int, default=60000,
                        help="training images per epoch (the first N of a seeded permutation)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = torch.from_numpy(
        read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).reshape(-1, 784)
    ).float() / 255.0
    labels = torch.from_numpy(
        read_idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    )

    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(0))
    images, labels = images[order[: args.subset]], labels[order[: args.subset]]

    ours, rows, summed = [], [], []
    for repeat in range(args.repeats):
        ours.append(dps_epoch(args.binary, args.data, args.threads, args.subset))
        rows.append(pytorch_epoch(images, labels, 256, TopK))
        summed.append(pytorch_epoch(images, labels, 256, TopKSummed))
        print(f"repeat {repeat}: dps {ours[-1]:.0f} img/s, PyTorch (B, M, N) rows "
              f"{rows[-1]:.0f} img/s, PyTorch (B, N) sum {summed[-1]:.0f} img/s",
              file=sys.stderr)
    medians = [statistics.median(values) for values in (ours, rows, summed)]
    print(f"| implementation | images/s (median of {args.repeats}) | dps / this |")
    print("|---|---:|---:|")
    names = [
        f"dps (tch, libtorch {torch.__version__}, release)",
        f"PyTorch {torch.__version__} eager, (B, M, N) soft rows",
        f"PyTorch {torch.__version__} eager, (B, N) summed rows",
    ]
    for name, median in zip(names, medians):
        print(f"| {name} | {median:.0f} | {medians[0] / median:.2f} |")
    print(f"\n{args.threads} threads, {args.subset} images per epoch")


if __name__ == "__main__":
    main()
