"""What D and G were doing when a cgan run collapsed (docs/conditional.md, "cgan: why it collapsed").

    python benchmarks/cgan_postmortem.py /tmp/ep_cgan2/run/checkpoints/last.ckpt     # a saved state, after the fact
    # the same figures live, every 100 training steps, as a callback of a benchmark run:
    python benchmarks/conditional_budget.py --out /tmp/diag ... model=cgan \\
        +callbacks.trace._target_=benchmarks.cgan_postmortem.Trace +callbacks.trace.path=/tmp/diag.jsonl

Figures: D's mean probability and logit on real test images and on fakes for the same labels, the norm of G's
gradient under the non-saturating loss, the share of generated pixels in tanh's flat tails (|x| > 0.99), the mean
|pre-tanh| value and the pixel standard deviation over the batch (0 when every fake is the same image).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan, run from anywhere

import numpy as np  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def figures(model, x: torch.Tensor, c: torch.Tensor, seed: int = 0) -> dict:
    """D's outputs, G's gradient and the saturation of its fakes, for real images x with labels c."""
    D, G = model.discriminator, model.generator
    z = model.sample_noise(len(x), generator=torch.Generator().manual_seed(seed), device=x.device)
    with torch.enable_grad():
        fake = G(z, c)
        real_logits, fake_logits = D(x, c), D(fake, c)
        grads = torch.autograd.grad(F.softplus(-fake_logits).mean(), list(G.parameters()))
        pre_tanh = G.net[:-1](torch.cat([z, G.embed(c)], 1)) if G.embed is not None else G.net[:-1](z)
    return {"d_real": float(torch.sigmoid(real_logits).mean()), "d_fake": float(torch.sigmoid(fake_logits).mean()),
            "logit_real": float(real_logits.mean()), "logit_fake": float(fake_logits.mean()),
            "g_grad": float(sum(g.pow(2).sum() for g in grads) ** 0.5),
            "saturated": float((fake.abs() > 0.99).float().mean()), "pre_tanh": float(pre_tanh.abs().mean()),
            "pixel_std": float(fake.detach().std(0).mean()), "real_pixel_std": float(x.std(0).mean())}


class Trace(pl.Callback):
    """`figures` on the first 64 samples of the current batch every `every` training steps, one JSON line each."""

    def __init__(self, path: str, every: int = 100) -> None:
        self.path, self.every = Path(path), every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = pl_module.training_steps_done
        if step % self.every == 0:
            row = {"step": step, "epoch": trainer.current_epoch, **figures(pl_module, batch[0][:64], batch[1][:64].long())}
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")


def test_images(n: int, raw: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images = np.frombuffer((raw / "t10k-images-idx3-ubyte").read_bytes(), dtype=np.uint8)[16:].reshape(-1, 1, 28, 28)
    labels = np.frombuffer((raw / "t10k-labels-idx1-ubyte").read_bytes(), dtype=np.uint8)[8:]
    return torch.tensor(images[:n], dtype=torch.float32) / 127.5 - 1, torch.tensor(labels[:n], dtype=torch.long)


def main() -> None:
    from gan.checkpoint import load_model

    torch.set_num_threads(1)
    model, _ = load_model(sys.argv[1])
    raw = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[1] / "../shared/data/MNIST/raw"
    x, c = test_images(512, raw)
    for train_mode in (False, True):  # D's dropout off, then on as in training
        model.discriminator.train(train_mode)
        print("D train mode" if train_mode else "D eval mode", json.dumps(figures(model, x, c)))


if __name__ == "__main__":
    main()
