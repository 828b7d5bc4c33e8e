"""Training speed of the CIFAR ResNets: images per second of full training steps (augmentation on the device,
forward, backward, optimizer step), for a chosen model, objective and device. No assertions; prints a table.

    .venv/bin/python benchmarks/cifar.py                          # CPU: a tiny config (ResNet-8, width 4)
    .venv/bin/python benchmarks/cifar.py --arch resnet20 --batch-size 512 --objective mmc --steps 50
    .venv/bin/python benchmarks/cifar.py --adversarial untargeted --compile     # PGD-10 AT, torch.compile

On CUDA the steps run as in ``robviz train``: channels-last, bf16 autocast, the uint8 set resident on the GPU.
"""

from __future__ import annotations

import argparse
import time

import torch

from robviz.cifar import gpu_batches
from robviz.cli import _autocast, _LossModule, _pgd_examples, synthetic_images
from robviz.recipes import get_recipe, make_optimizer
from robviz.resnet import make_cifar_model
from robviz.runtime import pick_device


def measure(arch, objective, batch_size, steps, device, *, width=16, adversarial=None, compile=False, warmup=3):
    cuda = device.type == "cuda"
    data = synthetic_images(batch_size * (steps + warmup), 10, device=device)
    model = make_cifar_model(arch, objective, width=width).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    recipe = get_recipe("fast", objective, batch_size=batch_size, adversarial=adversarial)
    optimizer = make_optimizer(model, recipe)
    step_module = _LossModule(model)
    if compile and cuda:
        step_module = torch.compile(step_module)
    generator = torch.Generator(device=device).manual_seed(0)
    batches = gpu_batches(data.x_train, data.y_train, batch_size, generator, channels_last=cuda)
    began = None
    for i, (xb, yb) in enumerate(batches):
        if i == warmup:
            if cuda:
                torch.cuda.synchronize(device)
            began = time.perf_counter()
        if adversarial:
            xb = _pgd_examples(model, xb, yb, recipe, generator, 0, 1)
        with _autocast(device):
            loss = step_module(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if cuda:
        torch.cuda.synchronize(device)
    return steps * batch_size / (time.perf_counter() - began)


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
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    arch = args.arch or ("resnet20" if cuda else "resnet8")
    width = args.width or (16 if cuda else 4)
    batch = args.batch_size or (512 if cuda else 32)
    steps = args.steps or (50 if cuda else 5)
    speed = measure(arch, args.objective, batch, steps, device, width=width, adversarial=args.adversarial,
                    compile=args.compile)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"| device | model | objective | batch | AT | images/s |\n|---|---|---|---|---|---|\n"
          f"| {name} | {arch} (width {width}) | {args.objective} | {batch} | {args.adversarial or '-'} "
          f"| {speed:.0f} |")


if __name__ == "__main__":
    main()
