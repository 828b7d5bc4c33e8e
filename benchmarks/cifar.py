"""Training speed of the CIFAR ResNets: images per second of full training steps.

A full step is augmentation on the device, forward, backward and optimizer step; for a chosen model,
objective and device. No assertions; prints tables.

    .venv/bin/python benchmarks/cifar.py                    # CPU: a tiny config (ResNet-8, width 4)
    .venv/bin/python benchmarks/cifar.py --arch resnet20 --batch-size 512 --objective mmc --steps 50
    .venv/bin/python benchmarks/cifar.py --adversarial untargeted --compile  # PGD-10 AT, compiled
    .venv/bin/python benchmarks/cifar.py --suite            # the issue's table: see suite()

The steps run as in ``robviz train``: channels-last on every device, and on CUDA bf16 autocast and
the uint8 set resident on the GPU; the attack runs on a channels-last model, as ``robviz evaluate``
loads one. The data are synthetic CIFAR-shaped images (``robviz.scale.synthetic_images``):
throughput does not depend on the pixels, and no download is needed.
"""

from __future__ import annotations

import argparse
import time

import torch

from robviz.scale.cifar import gpu_batches
from robviz.scale import (
    LossModule,
    adversarial_examples,
    autocast,
    synthetic_images,
    training_attack,
)
from robviz.scale.optimizers import make_optimizer
from robviz.scale.recipes import get_recipe
from robviz.scale.resnet import make_cifar_model
from robviz.runtime import pick_device


def measure(
    arch,
    objective,
    batch_size,
    steps,
    device,
    *,
    width=16,
    adversarial=None,
    compile=False,
    warmup=3,
):
    cuda = device.type == "cuda"
    data = synthetic_images(batch_size * (steps + warmup), 10, device=device)
    # channels-last on every device, as robviz train runs
    model = make_cifar_model(arch, objective, width=width).to(
        device, memory_format=torch.channels_last
    )
    if cuda:
        torch.backends.cudnn.benchmark = True
    recipe = get_recipe("fast", objective, batch_size=batch_size, adversarial=adversarial)
    optimizer = make_optimizer(model, recipe)
    step_module = LossModule(model)
    attack = training_attack(model, recipe) if adversarial else None
    if compile and cuda:
        step_module = torch.compile(step_module)
    generator = torch.Generator(device=device).manual_seed(0)
    batches = gpu_batches(data.x_train, data.y_train, batch_size, generator, channels_last=True)
    began = None
    for i, (xb, yb) in enumerate(batches):
        if i == warmup:
            if cuda:
                torch.cuda.synchronize(device)
            began = time.perf_counter()
        if adversarial:
            xb = adversarial_examples(attack, xb, yb, generator)
        with autocast(device):
            loss = step_module(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if cuda:
        torch.cuda.synchronize(device)
    return steps * batch_size / (time.perf_counter() - began)


def attack_speed(arch, objective, batch_size, device, *, width=16, steps=10):
    """Images per second of a PGD-10 attack with robviz, and with torchattacks when it is installed.

    The attack: 8/255, step 2/255, the model's adaptive objective. torchattacks' figure is None when
    it is not installed; an untrained model, as only speed is measured.
    """
    from robviz.attacks import PGD
    from robviz.scale.cifar import to_float

    model = make_cifar_model(arch, objective, width=width)
    model = model.to(
        device, memory_format=torch.channels_last
    ).eval()  # as robviz evaluate loads it
    x = to_float(synthetic_images(batch_size, 10, device=device).x_train)
    y = torch.arange(batch_size, device=device) % 10
    attack = PGD(
        model, eps=8 / 255, alpha=2 / 255, steps=steps, random_start=True, batch_size=batch_size
    )

    def timed(run):
        run()  # warm-up (cudnn autotuning, allocations)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        began = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return batch_size / (time.perf_counter() - began)

    ours = timed(lambda: attack.run(x, y))
    try:
        import torchattacks
    except ImportError:
        return ours, None
    theirs = torchattacks.PGD(model, eps=8 / 255, alpha=2 / 255, steps=steps, random_start=True)
    return ours, timed(lambda: theirs(x, y))


def suite(device, *, arch="resnet32", steps=None):
    """The figures the ResNet issue asks for: training and attack speed, eager vs compiled, memory.

    Training images/s of SCE, MMC and RCE at batch 50 and 128 (MMC's cost relative to SCE; the
    projected wall time of the 200-epoch recipe), PGD-10 adversarial training, the PGD-10 attack (vs
    torchattacks when installed), eager vs torch.compile and peak GPU memory on CUDA.
    """
    cuda = device.type == "cuda"
    steps = steps or (50 if cuda else 3)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; {arch}, synthetic CIFAR-shaped data, {steps} timed steps per row\n")
    print(
        "| objective | batch | compile | images/s | vs SCE | 200 epochs of 50 000 | peak GPU MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for batch in (50, 128):
        base = None
        for objective in ("sce", "mmc", "rce"):
            for compiled in (False, True) if cuda else (False,):
                if cuda:
                    torch.cuda.reset_peak_memory_stats(device)
                speed = measure(arch, objective, batch, steps, device, compile=compiled)
                base = speed if objective == "sce" and not compiled else base
                memory = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}" if cuda else "-"
                hours = 200 * 50_000 / speed / 3600
                wall = f"{hours * 60:.1f} min" if hours < 1 else f"{hours:.1f} h"
                print(
                    f"| {objective} | {batch} | {'yes' if compiled else 'no'} | {speed:,.0f} | "
                    f"{base / speed:.3f}x time | {wall} | {memory} |",
                    flush=True,
                )
    at = measure(arch, "mmc", 128, max(1, steps // 5), device, adversarial="untargeted")
    print(
        f"\nPGD-10 adversarial training (MMC, batch 128): {at:,.0f} images/s "
        f"(200 epochs: {200 * 50_000 / at / 3600:.1f} h)"
    )
    ours, theirs = attack_speed(arch, "sce", 128 if cuda else 16, device)
    ratio = (
        f", torchattacks {theirs:,.0f} images/s (robviz / torchattacks {ours / theirs:.2f})"
        if theirs
        else " (torchattacks not installed: no comparison)"
    )
    print(f"PGD-10 attack (SCE, 8/255): robviz {ours:,.0f} images/s{ratio}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=None)
    parser.add_argument("--objective", default="sce")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--adversarial", choices=["untargeted", "targeted"], default=None)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--suite",
        action="store_true",
        help="the full table: objectives x batch, AT, attack, compile",
    )
    args = parser.parse_args()
    device = pick_device(args.device)
    if args.suite:
        suite(device, arch=args.arch or "resnet32", steps=args.steps)
        return
    cuda = device.type == "cuda"
    arch = args.arch or ("resnet20" if cuda else "resnet8")
    width = args.width or (16 if cuda else 4)
    batch = args.batch_size or (512 if cuda else 32)
    steps = args.steps or (50 if cuda else 5)
    speed = measure(
        arch,
        args.objective,
        batch,
        steps,
        device,
        width=width,
        adversarial=args.adversarial,
        compile=args.compile,
    )
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"| device | model | objective | batch | AT | images/s |\n|---|---|---|---|---|---|\n"
        f"| {name} | {arch} (width {width}) | {args.objective} | {batch} | "
        f"{args.adversarial or '-'} "
        f"| {speed:.0f} |"
    )


if __name__ == "__main__":
    main()
