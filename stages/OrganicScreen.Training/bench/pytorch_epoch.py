#!/usr/bin/env python3
"""PyTorch reference for OrganicScreen's training loop, to compare seconds/epoch on the same machine.

Same model as OrganicScreen.Training: 2048-bit input with ~40 set bits, Dense 1024-512-256 (ReLU, dropout 0.1)
-> Dense(1), kernels N(0, 0.05), L2 0.003 on every kernel folded into the gradient, Keras-style Adam (lr 0.003,
eps 1e-7 added to sqrt(v) before bias correction), MSE on [0,1] labels, one validation pass per epoch.

    python3 pytorch_epoch.py --device cuda --batch 256 --epochs 10
    python3 pytorch_epoch.py --device cuda --batch 0          # full batch (all 20k rows in one step)
    python3 pytorch_epoch.py --device cpu --threads 2 --first-layer sparse
"""
import argparse
import math
import time

import torch


def synthetic(rows, bits, on_bits, seed):
    g = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randperm(bits, generator=g)[:on_bits] for _ in range(rows)])
    w = torch.rand(bits, generator=g) * 0.2 - 0.1
    y = 7.0 + w[idx].sum(1)
    return idx, y


class Fcnn(torch.nn.Module):
    def __init__(self, bits, hidden, dropout, sparse):
        super().__init__()
        sizes = [bits, *hidden, 1]
        self.kernels = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(a, b) * 0.05) for a, b in zip(sizes, sizes[1:])])
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(b)) for b in sizes[1:]])
        self.dropout = dropout
        self.sparse = sparse

    def forward(self, x_idx, x_dense):
        if self.sparse:  # embedding-bag sum of the kernel rows of the set bits == Dense on the 0/1 vector
            h = torch.nn.functional.embedding_bag(x_idx, self.kernels[0], mode="sum") + self.biases[0]
        else:
            h = torch.addmm(self.biases[0], x_dense, self.kernels[0])
        for k, b in zip(self.kernels[1:], self.biases[1:]):
            h = torch.nn.functional.dropout(torch.relu(h), self.dropout, self.training)
            h = torch.addmm(b, h, k)
        return h.squeeze(1)


class KerasAdam:
    def __init__(self, params, kernels, lr, l2, b1=0.9, b2=0.999, eps=1e-7):
        self.params, self.kernel_ids = list(params), {id(k) for k in kernels}
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.l2, self.b1, self.b2, self.eps, self.t = lr, l2, b1, b2, eps, 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        alpha = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if id(p) in self.kernel_ids:
                g.add_(p, alpha=2 * self.l2)
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, v.sqrt().add_(self.eps), value=-alpha)
            p.grad = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--bits", type=int, default=2048)
    ap.add_argument("--on-bits", type=int, default=40)
    ap.add_argument("--hidden", default="1024,512,256")
    ap.add_argument("--batch", type=int, default=256, help="0 = full batch")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--first-layer", choices=["auto", "sparse", "dense"], default="auto")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    full = a.batch <= 0 or a.batch >= a.rows
    sparse = a.first_layer == "sparse" or (a.first_layer == "auto" and not (dev.type == "cuda" and full))
    torch.manual_seed(0)
    idx, y = synthetic(a.rows, a.bits, a.on_bits, 1)
    y = ((y - y.min()) / (y.max() - y.min())).to(dev)
    idx = idx.to(dev)
    dense = torch.zeros(a.rows, a.bits, device=dev).scatter_(1, idx, 1.0) if not sparse else None
    val = torch.arange(0, a.rows, 8, device=dev)  # same 1/8 validation pass as OrganicScreen's benchmark
    model = Fcnn(a.bits, [int(h) for h in a.hidden.split(",")], 0.1, sparse).to(dev)
    opt = KerasAdam(model.parameters(), list(model.kernels), 0.003, 0.003)
    batch = a.rows if full else a.batch

    def epoch():
        model.train()
        perm = torch.randperm(a.rows, device=dev)
        for s in range(0, a.rows, batch):
            b = perm[s:s + batch]
            pred = model(idx[b], dense[b] if dense is not None else None)
            loss = (pred - y[b]).square().mean()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            p = model(idx[val], dense[val] if dense is not None else None)
            (p - y[val]).abs().mean().item()

    for _ in range(a.warmup):
        epoch()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.epochs):
        epoch()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    s = (time.perf_counter() - t) / a.epochs
    steps = math.ceil(a.rows / batch)
    print(f"pytorch {torch.__version__} device={dev} first_layer={'sparse' if sparse else 'dense'} rows={a.rows} "
          f"batch={batch} steps/epoch={steps} threads={torch.get_num_threads()} seconds/epoch={s:.4f}")


if __name__ == "__main__":
    main()
