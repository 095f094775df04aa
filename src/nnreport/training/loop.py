"""The PyTorch training loop: whole dataset on the device, batches by slicing a permutation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnreport.models.registry import CLASSIFICATION, Task
from nnreport.training.backprop import AutogradStep, BackpropStep, log_softmax, training_step
from nnreport.training.history import TRAIN_EVAL_IMAGES, EarlyStopping, History
from nnreport.training.schedules import epoch_lr

log = logging.getLogger(__name__)


@dataclass
class Split:
    """One split held on the training device, as stored (uint8 pixels, 4x less memory than
    float32, normalised batch by batch) or as float inputs."""

    x: torch.Tensor  # (N, C*H*W) or (N, C, H, W) uint8 pixels, or float inputs
    y: torch.Tensor  # (N,) int64
    # the inputs of uint8 pixels are x * scale + shift: numbers, or each channel's, (C, 1, 1)
    # for images and (C*H*W,) for flat rows
    scale: float | torch.Tensor = 1.0
    shift: float | torch.Tensor = 0.0

    def inputs(self, rows: torch.Tensor | slice) -> torch.Tensor:
        """Return the float inputs of `rows` (indices or a slice), (b, C*H*W) or (b, C, H, W)."""
        # index_select is a leaner gather than x[idx] (about 35 ms/epoch less, 1 CPU)
        x = self.x[rows] if isinstance(rows, slice) else self.x.index_select(0, rows)
        if x.dtype == torch.uint8:
            return x.to(torch.float32).mul_(self.scale).add_(self.shift)
        return x


class ReconstructionStep:
    """One step of an autoencoder: the MSE between its output and its clean input, through
    autograd. With `sigma` > 0 the input it sees has Gaussian noise of that std added and is
    clipped to [0, 1] (a denoising autoencoder; its inputs are pixels in [0, 1])."""

    def __init__(self, model: nn.Module, sigma: float, generator: torch.Generator):
        self.model, self.sigma, self.gen = model, float(sigma), generator
        self.params = [p for p in model.parameters() if p.requires_grad]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Return the batch's summed per-image MSE (the mean over its pixels); no accuracy."""
        seen = x
        if self.sigma > 0:
            noise = torch.randn(x.shape, device=x.device, generator=self.gen)
            seen = (x + noise.mul_(self.sigma)).clamp_(0, 1)
        loss = F.mse_loss(self.model(seen), x)
        for p in self.params:
            p.grad = None
        loss.backward()
        return loss.detach() * len(x), None


def _without_dynamo(method) -> None:
    """Let a torch.optim method that PyTorch wraps in `torch._disable_dynamo` run without first
    importing torch._dynamo (1.3 s of every training job here, more than its own training in a
    small run): that wrapper imports it on the first call to turn off a compiler this code
    never runs, unless the function already carries its disabled form, which is then the
    function itself."""
    raw = getattr(method, "__wrapped__", None)
    if raw is not None and getattr(raw, "__dynamo_disable", None) is None:
        raw.__dynamo_disable = raw


def make_optimizer(hparams: dict, params) -> torch.optim.Optimizer:
    """Return the optimiser named by `hparams['optimizer']` with its learning rate."""
    name, lr = hparams["optimizer"].lower(), float(hparams["lr"])
    _without_dynamo(torch.optim.Optimizer.add_param_group)  # the constructor calls it
    momentum = float(hparams.get("momentum", 0.0))
    weight_decay = float(hparams.get("weight_decay", 0.0))
    # fused: one kernel updates every parameter (measured 0.81 -> 0.73 s/epoch, base MLP, 1 CPU)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer: '{name}' is unknown; use adam, adamw, sgd or rmsprop")


class FusedAdamStep:
    """`opt.step()` of a fused Adam or AdamW with one parameter group whose gradients stay the
    same tensors from step to step (BackpropStep writes them in place): the state torch.optim
    would create (zero moments, a float32 step count per parameter) is made in `opt.state`, and
    the same fused kernel is called on it without torch.optim's per-step Python bookkeeping
    (0.467 -> 0.444 s per epoch of the base MLP on one CPU core) and without opt.step()'s
    import of torch._dynamo. The result is the same, bit for bit (tests)."""

    def __init__(self, opt: torch.optim.Optimizer):
        self.opt = opt
        self.tensors: tuple | None = None
        self.kernel = (torch._fused_adamw_ if isinstance(opt, torch.optim.AdamW)
                       else torch._fused_adam_)

    @staticmethod
    def covers(opt: torch.optim.Optimizer) -> bool:
        """Return True when `opt` is a fused Adam/AdamW this step reproduces."""
        if not isinstance(opt, torch.optim.Adam | torch.optim.AdamW) or len(opt.param_groups) > 1:
            return False
        if not hasattr(torch, "_fused_adam_") or not hasattr(torch, "_fused_adamw_"):
            return False  # a PyTorch without these kernels: opt.step() does the work
        group = opt.param_groups[0]
        return (group["fused"] and not group["amsgrad"] and not group["maximize"]
                and not group["capturable"] and not group["differentiable"]
                and not torch.is_tensor(group["lr"]))

    def __call__(self) -> None:
        if self.tensors is None:  # the state fused Adam's first opt.step() creates, made here:
            # opt.step() imports torch._dynamo (its graph breaks), 1.3 s of every job
            params = self.opt.param_groups[0]["params"]
            state = [self.opt.state[p] for p in params]
            # every parameter's step count is a view of one tensor: one add_ counts all
            self.steps = torch.zeros(len(params), dtype=torch.float32,
                                     device=params[0].device)  # (P,)
            for i, (p, s) in enumerate(zip(params, state, strict=True)):
                s["step"] = self.steps[i]
                s["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                s["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            self.tensors = (params, [p.grad for p in params], [s["exp_avg"] for s in state],
                            [s["exp_avg_sq"] for s in state], [], [s["step"] for s in state])
        group = self.opt.param_groups[0]
        self.steps.add_(1)
        self.kernel(*self.tensors, amsgrad=False, lr=group["lr"], beta1=group["betas"][0],
                    beta2=group["betas"][1], weight_decay=group["weight_decay"],
                    eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)


class FusedSGDStep:
    """`opt.step()` of a fused SGD with one parameter group whose gradients stay the same
    tensors from step to step, as FusedAdamStep does for Adam: the momentum buffers torch.optim
    would create on the first step (none without momentum) are made in `opt.state`, and the
    same fused kernel is called without opt.step()'s import of torch._dynamo (1.3 s of every
    SGD job). The result is the same, bit for bit (tests)."""

    def __init__(self, opt: torch.optim.Optimizer):
        self.opt = opt
        self.tensors: tuple | None = None

    @staticmethod
    def covers(opt: torch.optim.Optimizer) -> bool:
        """Return True when `opt` is a fused SGD this step reproduces."""
        if not isinstance(opt, torch.optim.SGD) or len(opt.param_groups) > 1:
            return False
        if not hasattr(torch, "_fused_sgd_"):
            return False  # a PyTorch without this kernel: opt.step() does the work
        group = opt.param_groups[0]
        params = group["params"]
        same = len({(p.device, p.dtype) for p in params}) == 1  # one group of tensors
        return (same and group["fused"] and not group["maximize"]
                and not group["differentiable"] and not torch.is_tensor(group["lr"]))

    def __call__(self) -> None:
        group = self.opt.param_groups[0]
        first = self.tensors is None
        if self.tensors is None:
            params = group["params"]
            buffers = ([] if group["momentum"] == 0 else
                       [torch.empty_like(p.grad) for p in params])  # the kernel fills them
            for p, b in zip(params, buffers, strict=False):
                self.opt.state[p]["momentum_buffer"] = b
            self.tensors = (params, [p.grad for p in params], buffers)
        torch._fused_sgd_(*self.tensors, weight_decay=group["weight_decay"],
                          momentum=group["momentum"], lr=group["lr"],
                          dampening=group["dampening"], nesterov=group["nesterov"],
                          maximize=False, is_first_step=first and group["momentum"] != 0,
                          grad_scale=None, found_inf=None)


class DirectRMSpropStep:
    """`opt.step()` of RMSprop on the CPU (which has no fused kernel: torch.optim runs its
    single-tensor loop there), the same operations in the same order, without opt.step()'s
    import of torch._dynamo; the state torch.optim would make (step count, square average,
    momentum buffer, gradient average) is made in `opt.state`. The same, bit for bit (tests)."""

    def __init__(self, opt: torch.optim.Optimizer):
        self.opt = opt
        self.states: list[dict] | None = None

    @staticmethod
    def covers(opt: torch.optim.Optimizer) -> bool:
        """Return True when `opt` is an RMSprop this step reproduces: on the CPU, not foreach."""
        if not isinstance(opt, torch.optim.RMSprop) or len(opt.param_groups) > 1:
            return False
        group = opt.param_groups[0]
        plain = all(p.device.type == "cpu" and not torch.is_complex(p) for p in group["params"])
        return (plain and not group["foreach"] and not group["maximize"]
                and not group["differentiable"] and not group["capturable"]
                and not torch.is_tensor(group["lr"]))

    @torch.no_grad()
    def __call__(self) -> None:
        group = self.opt.param_groups[0]
        params = group["params"]
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = (group["weight_decay"], group["momentum"],
                                            group["centered"])
        if self.states is None:
            for p in params:
                state = self.opt.state[p]
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if momentum > 0:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)
                if centered:
                    state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            self.states = [self.opt.state[p] for p in params]
        for p, state in zip(params, self.states, strict=True):
            grad = p.grad
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            square_avg = state["square_avg"]
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if centered:
                grad_avg = state["grad_avg"]
                grad_avg.lerp_(grad, 1 - alpha)
                avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            else:
                avg = square_avg.sqrt()
            avg = avg.add_(eps)
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)


def direct_step(opt: torch.optim.Optimizer):
    """opt.step, or the direct fused step that does the same without torch.optim's overhead
    (for gradients written in place, as BackpropStep writes them)."""
    for direct in (FusedAdamStep, FusedSGDStep, DirectRMSpropStep):
        if direct.covers(opt):
            return direct(opt)
    return opt.step


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split, task: Task = CLASSIFICATION,
             batch: int | None = None) -> tuple[float, float | None, torch.Tensor]:
    """Return (mean loss, accuracy in [0, 1], per-image outcome) on `split`.

    A classifier: the mean cross-entropy, its accuracy and the predicted labels. An
    autoencoder: the MSE (the mean over images and pixels), no accuracy (None), and each
    image's own MSE.
    Batches of 2048 rows: 33 ms for 10,000 images of the base MLP on one CPU core, 43 ms with
    8192 (their activations no longer stay in the cache). Images through convolutions: 256 (a
    batch of 2048 has activations of over 100 MB, which the allocator maps afresh each time:
    0.45 s against 0.90 s for 5,000 images of the base CNN on one core).
    """
    model.eval()
    n = len(split.y)
    batch = batch or (2048 if split.x.dim() == 2 else 256)
    if task != CLASSIFICATION:
        per_image = torch.cat([(model(x) - x).square_().flatten(1).mean(1)  # (b,)
                               for x in (split.inputs(slice(i, i + batch))
                                         for i in range(0, n, batch))])
        return per_image.sum().item() / n, None, per_image
    loss_sum = torch.zeros((), device=split.x.device)
    preds = []
    for i in range(0, n, batch):
        logits = model(split.inputs(slice(i, i + batch)))  # (b, C)
        loss_sum += F.nll_loss(log_softmax(logits), split.y[i : i + batch], reduction="sum")
        preds.append(logits.argmax(1))
    pred = torch.cat(preds)
    return loss_sum.item() / n, (pred == split.y).sum().item() / n, pred


def train(model: nn.Module, train_split: Split, val_split: Split, hparams: dict, epochs: int,
          seed: int, autograd: bool = False, task: Task = CLASSIFICATION) -> History:
    """Train `model` for `epochs` epochs; return the per-epoch history of both splits.

    The learning rate follows `lr_schedule`; with `early_stopping_patience` > 0 training stops
    once the validation loss has not improved for that many epochs and the best weights are
    restored. `hist.best_epoch` (and `model.best_epoch`) is the epoch of minimal validation loss
    either way.
    A classifier's gradients come from `backprop.training_step`: written out for the MLPs it
    covers, autograd for the others or with `autograd=True`; an autoencoder's from autograd,
    on inputs with Gaussian noise of std `hparams['sigma']` when it is set.
    """
    device = train_split.x.device
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = make_optimizer(hparams, [p for p in model.parameters() if p.requires_grad])
    step: BackpropStep | AutogradStep | ReconstructionStep
    if task == CLASSIFICATION:
        step = training_step(model, autograd)
    else:
        step = ReconstructionStep(model, hparams.get("sigma") or 0.0, gen)
    opt_step = direct_step(opt) if isinstance(step, BackpropStep) else opt.step
    bs, n = int(hparams["batch_size"]), len(train_split.y)
    k = min(n, TRAIN_EVAL_IMAGES)  # measured in eval mode at each epoch's end
    train_probe = Split(train_split.x[:k], train_split.y[:k], train_split.scale,
                        train_split.shift)
    patience = int(hparams.get("early_stopping_patience") or 0)
    stopper, best_state = EarlyStopping(patience, best_epoch=0), None
    gradients = "backprop" if isinstance(step, BackpropStep) else "autograd"
    hist, start = History(best_epoch=0, gradients=gradients), time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        lr = epoch_lr(hparams, epoch, epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)  # (N,)
        y_perm = train_split.y.index_select(0, perm)  # (N,) the labels in batch order
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            batch_loss, batch_correct = step(train_split.inputs(idx), y_perm[i : i + bs])
            opt_step()
            loss_sum += batch_loss  # stays on the device: no sync per step
            if batch_correct is not None:
                correct += batch_correct
        fit = (loss_sum.item() / n, correct.item() / n if task == CLASSIFICATION else None)
        train_loss, train_acc, _ = evaluate(model, train_probe, task)
        val_loss, val_acc, _ = evaluate(model, val_split, task)
        seconds = time.perf_counter() - t0
        if not hist.end_epoch(epoch, epochs, fit, (train_loss, train_acc), (val_loss, val_acc),
                              lr, seconds):
            break
        verdict = stopper.update(val_loss, epoch)
        hist.best_epoch = stopper.best_epoch
        if verdict == "improved" and patience:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif verdict == "stop":
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.best_epoch = hist.best_epoch  # type: ignore[assignment]  # nn.Module's attributes
    hist.seconds = time.perf_counter() - start
    return hist
